"""The whole pure pipeline: format choice, limits, hostile input, properties."""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.core.errors import InputError
from worker.core.options import CoreOptions
from worker.core.pipeline import parse_article, resolve_format, sniff_format
from worker.core.summarize import section_summary

XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SMALL_TEXT = b"A Title\nA description.\nIntro\nSome words here.\n"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ('{"title": "x"}', "json"),
        ("  <!DOCTYPE html><html>", "html"),
        ("<h1>Title</h1>", "html"),
        ("---\ntitle: x\n---\n", "markdown"),
        ("# Title\n", "markdown"),
        ("Title\nDescription.\n", "text"),
        ("<3 is a heart, not a tag", "text"),
    ],
)
def test_sniffing(start: str, expected: str) -> None:
    assert sniff_format(start) == expected


def test_explicit_format_wins_over_content_type() -> None:
    assert resolve_format("md", "text/html") == "markdown"
    assert resolve_format(None, "text/html; charset=utf-8") == "html"
    assert resolve_format(None, "application/vnd.syndicate+json") == "json"
    assert resolve_format(None, "application/octet-stream") is None
    with pytest.raises(InputError, match="unknown format"):
        resolve_format("docx", None)


def test_the_size_limit_is_enforced_and_configurable() -> None:
    with pytest.raises(InputError) as caught:
        parse_article(SMALL_TEXT, options=CoreOptions(max_input_bytes=10))
    assert caught.value.problem == "too_large"
    assert "limit is 10 bytes" in str(caught.value)


def test_one_mebibyte_of_text_parses() -> None:
    paragraph = "The river keeps its own time, and the town keeps another. " * 8
    body = "\n".join(
        f"Chapter {index}\n{paragraph}\n{paragraph}" for index in range(1, 10_000)
    ).encode()
    data = b"Big Book\nA long one.\n" + body
    data = data[: 1024 * 1024 - 1].rsplit(b"\n", 1)[0]
    article = parse_article(data).article
    assert article.word_count > 150_000
    assert len(article.sections) > 500


def test_five_thousand_sections_parse() -> None:
    body = "\n".join(f"Part {index}\nShort paragraph number {index}." for index in range(5000))
    article = parse_article(f"Many Parts\nA description.\n{body}".encode()).article
    assert len(article.sections) == 5000
    assert article.sections[4999].summary == "Short paragraph number 4999."


def test_section_summaries_weigh_the_heading_and_the_title() -> None:
    from tests.test_summarize import LANTERN_OPENING, LANTERN_RECAP, LANTERN_TITLE

    body = "\n".join(LANTERN_RECAP)
    data = f"{LANTERN_TITLE}\nWhat the lamp means.\nQuick Recap\n{body}\n".encode()
    article = parse_article(data).article
    assert article.title == LANTERN_TITLE
    summary = article.sections[0].summary
    assert summary == section_summary(LANTERN_RECAP, heading="Quick Recap", title=LANTERN_TITLE)
    assert summary.startswith(LANTERN_OPENING)
    assert summary != section_summary(LANTERN_RECAP)  # without them it starts elsewhere


def test_too_many_sections_is_a_clear_error() -> None:
    body = "\n".join(f"Part {index}" for index in range(11))
    with pytest.raises(InputError) as caught:
        parse_article(f"T\nD.\n{body}".encode(), options=CoreOptions(max_sections=10))
    assert caught.value.problem == "too_many_sections"


def test_control_characters_are_removed_with_a_warning() -> None:
    result = parse_article(b"Ti\x01tle\nDesc\x0bription.\nHead\x7fing\nBody \x1b[31mred.\n")
    assert result.article.title == "Title"
    assert "\x1b" not in result.article.to_json()
    assert "characters_removed" in {warning.code for warning in result.warnings}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x89PNG\r\n\x1a\n", "binary"),
        (b"Title\n\xff", "encoding"),
        (b'{"description": "no title"}', "no_title"),
        (b"# \n\nbody", "no_title"),
        (b"<p>only a paragraph, no heading at all</p>", "no_title"),
    ],
)
def test_bad_input_gets_a_typed_error(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_article(data)
    assert caught.value.problem == problem
    assert "\n" not in str(caught.value)


def test_the_same_article_twice_gets_the_same_id(example_bytes: bytes) -> None:
    first = parse_article(example_bytes).article
    second = parse_article(example_bytes.replace(b"\n", b"\r\n")).article
    assert first.id == second.id == "everwinter-2019-ending-explained"


def test_a_given_id_is_kept_and_a_bad_one_refused() -> None:
    with_id = b"Title\nDescription.\nID: post-1234\nBody\nText.\n"
    assert parse_article(with_id).article.id == "post-1234"
    for bad_id in ("../../etc", "a:history", "", "-leading-dash", "x" * 129):
        with pytest.raises(InputError) as caught:
            parse_article(json.dumps({"title": "T", "id": bad_id}).encode())
        assert caught.value.problem in ("invalid_field", "no_title"), bad_id


def test_output_is_xml_safe_for_hostile_text() -> None:
    nasty = "T\x00itle\ud7ff\ufffe\nDesc \u202eevil\u202c.\nHead\nBody\x08 \u200btext.\n"
    article = parse_article(nasty.encode("utf-8", "surrogatepass")).article
    assert not XML_INVALID.search(article.to_json().encode().decode("unicode_escape", "ignore"))
    for text in [article.title, article.description, *article.sections[0].paragraphs]:
        assert not XML_INVALID.search(text)
        assert "\u202e" not in text and "\u200b" not in text


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_raise_only_input_errors(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_article(data)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=2000), st.sampled_from([None, "text", "markdown", "html", "json"]))
def test_arbitrary_text_in_any_format_raises_only_input_errors(
    text: str, format_: str | None
) -> None:
    try:
        result = parse_article(text.encode("utf-8", "surrogatepass"), format=format_)
    except InputError:
        return
    assert result.article.title
    for section in result.article.sections:
        assert len(section.summary) <= 320


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80),
            st.sampled_from(["Quick Recap", "Rating: 7/10", "Release Year: 2020", "Author: X", ""]),
        ),
        max_size=30,
    )
)
def test_line_soup_in_the_text_format(lines: list[str]) -> None:
    with contextlib.suppress(InputError):
        parse_article("\n".join(lines).encode(), format="text")
