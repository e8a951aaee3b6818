"""Webhook message bodies: shape, schema, and the size limit for any article."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from feeds.webhooks import payload
from feeds.webhooks.payload import (
    EVENT_TYPES,
    MAX_BODY_BYTES,
    TEST_EVENT,
    build_article_payload,
    build_test_payload,
)
from worker.core.model import Article, Metadata, Section

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "webhook-payload.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
WHEN = datetime(2024, 5, 1, 12, 30, 15, 999_999, tzinfo=UTC)
FEEDS = (
    {
        "name": "main",
        "title": "Example",
        "atom": "https://example.com/feeds/atom.xml",
        "rss": "https://example.com/feeds/rss.xml",
        "json": "https://example.com/feeds/feed.json",
    },
    {
        "name": "tag:film",
        "atom": "https://example.com/feeds/tags/film/atom.xml",
        "rss": "https://example.com/feeds/tags/film/rss.xml",
        "json": "https://example.com/feeds/tags/film/feed.json",
    },
)


def make_article(**changes: Any) -> Article:
    """A small article; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "id": "red-rocket",
        "slug": "red-rocket",
        "title": "Red Rocket (2021): ending explained",
        "description": "What the last scene means.",
        "url": "https://example.com/red-rocket",
        "authors": ("Ada Lovelace", "Grace Hopper"),
        "published": datetime(2024, 4, 30, 8, 0, 0, 500, tzinfo=UTC),
        "updated": None,
        "metadata": Metadata(),
        "tags": ("film", "drama"),
        "language": "en",
        "word_count": 120,
        "reading_time_minutes": 1,
        "sections": (
            Section("The ending", ("Mikey runs.",), "Mikey runs to Strawberry."),
            Section("What it means", ("A dream.",), "It may be a dream."),
        ),
        "summary": "Mikey returns to Texas City and the film ends ambiguously.",
        "content_hash": "abc",
    }
    fields.update(changes)
    return Article(**fields)


def parse(body: bytes, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The parsed body, after checking the size, the encoding and the schema."""
    assert len(body) <= limit
    document: dict[str, Any] = json.loads(body.decode("utf-8"))
    VALIDATOR.validate(document)
    return document


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_validates(event_type: str) -> None:
    body = build_article_payload(
        event_type,
        make_article(),
        version=2,
        timestamp=WHEN,
        changed_sections=["The ending"],
        feeds=FEEDS,
    )
    document = parse(body)
    assert document["type"] == event_type
    assert document["timestamp"] == "2024-05-01T12:30:15Z"
    assert document["data"]["feeds"] == list(FEEDS)
    assert document["data"]["truncated"] is False


def test_published_shape() -> None:
    data = parse(
        build_article_payload("article.published", make_article(), version=1, timestamp=WHEN)
    )["data"]
    assert data == {
        "id": "red-rocket",
        "version": 1,
        "url": "https://example.com/red-rocket",
        "title": "Red Rocket (2021): ending explained",
        "description": "What the last scene means.",
        "authors": ["Ada Lovelace", "Grace Hopper"],
        "tags": ["film", "drama"],
        "published": "2024-04-30T08:00:00Z",
        "updated": None,
        "summary": "Mikey returns to Texas City and the film ends ambiguously.",
        "sections": [
            {"heading": "The ending", "summary": "Mikey runs to Strawberry."},
            {"heading": "What it means", "summary": "It may be a dream."},
        ],
        "changed_sections": [],
        "feeds": [],
        "truncated": False,
    }


MARKUP = "Tags & <b>markup</b> in text &amp; </p>"


def test_markup_like_text_is_carried_as_the_author_wrote_it() -> None:
    """Every field is plain text: not escaped (a partner escapes for its own context),
    not stripped, exactly as in the article (and in the JSON Feed)."""
    article = make_article(
        title=MARKUP,
        description="<script>alert(1)</script>",
        authors=("Jo <script>x</script> Doe",),
        tags=("a<b>c",),
        summary="x &lt; y",
        sections=(Section("A <heading>", ("p",), "Summary with </td>."),),
    )
    body = build_article_payload(
        "article.updated", article, version=1, timestamp=WHEN,
        changed_sections=["A <heading>"], feeds=[{**FEEDS[0], "title": "Films: a<b>c"}],
    )  # fmt: skip
    data = parse(body)["data"]
    assert (data["title"], data["description"], data["summary"]) == (
        article.title, article.description, article.summary,
    )  # fmt: skip
    assert (data["authors"], data["tags"]) == (list(article.authors), list(article.tags))
    assert data["sections"] == [{"heading": "A <heading>", "summary": "Summary with </td>."}]
    assert data["changed_sections"] == ["A <heading>"]
    assert data["feeds"][0]["title"] == "Films: a<b>c"


def test_the_schema_has_no_html_field() -> None:
    """Every string of a body is plain text (the plainText definition), an identifier,
    a URL, a timestamp or an event type: none is HTML."""
    assert "never HTML" in SCHEMA["$defs"]["plainText"]["description"]
    allowed = {"id", "url", "name", "atom", "rss", "json", "endpoint", "message", "type"}

    def strings(schema: object, name: str) -> list[str]:
        if isinstance(schema, list):
            return [found for item in schema for found in strings(item, name)]
        if not isinstance(schema, dict):
            return []
        found = [name] if "string" in str(schema.get("type")) and name not in allowed else []
        for key, value in schema.items():
            found += strings(value, key if key not in ("items", "oneOf", "anyOf") else name)
        return found

    definitions = {key: value for key, value in SCHEMA["$defs"].items() if key != "plainText"}
    assert [name for name in strings(definitions, "") if name != "timestamp"] == []


def test_changed_sections_only_for_updates() -> None:
    def changed(event_type: str) -> list[str]:
        body = build_article_payload(
            event_type, make_article(), version=2, timestamp=WHEN, changed_sections=["X"]
        )
        return list(parse(body)["data"]["changed_sections"])

    assert changed("article.updated") == ["X"]
    assert changed("article.published") == []
    assert changed("article.deleted") == []


def test_deleted_shape_identifies_the_article_without_its_content() -> None:
    article = make_article(updated=datetime(2024, 5, 1, tzinfo=UTC))
    data = parse(build_article_payload("article.deleted", article, version=4, timestamp=WHEN))[
        "data"
    ]
    assert data["summary"] is None
    assert data["sections"] == []
    assert data["changed_sections"] == []
    assert data["title"] == article.title
    assert data["url"] == article.url
    assert data["authors"] == list(article.authors)
    assert data["tags"] == list(article.tags)
    assert data["updated"] == "2024-05-01T00:00:00Z"


def test_the_schema_refuses_a_deleted_body_with_content() -> None:
    body = build_article_payload("article.published", make_article(), version=1, timestamp=WHEN)
    document = json.loads(body)
    document["type"] = "article.deleted"
    assert not VALIDATOR.is_valid(document)
    document["data"]["summary"] = None
    assert not VALIDATOR.is_valid(document)
    document["data"]["sections"] = []
    assert VALIDATOR.is_valid(document)
    document["data"]["extra"] = 1
    assert not VALIDATOR.is_valid(document)


def test_the_body_is_compact_utf8_json() -> None:
    article = make_article(title="Café 😀", url=None)
    body = build_article_payload("article.published", article, version=1, timestamp=WHEN)
    assert "Café 😀".encode() in body
    assert b": " not in body and b", " not in body
    assert parse(body)["data"]["url"] is None


def test_the_timestamp_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 14, 0, 0, tzinfo=paris)
    body = build_article_payload("article.published", make_article(), version=1, timestamp=moment)
    assert parse(body)["timestamp"] == "2024-05-01T12:00:00Z"


def test_the_test_event() -> None:
    document = parse(build_test_payload("ep_123", timestamp=WHEN))
    assert document == {
        "type": TEST_EVENT,
        "timestamp": "2024-05-01T12:30:15Z",
        "data": {"endpoint": "ep_123", "message": "This is a test event from syndicate."},
    }


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        build_article_payload("article.moved", make_article(), version=1, timestamp=WHEN)


def test_naive_timestamps_and_negative_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_article_payload(
            "article.published", make_article(), version=1, timestamp=datetime(2024, 1, 1)
        )
    with pytest.raises(ValueError, match="version"):
        build_article_payload("article.published", make_article(), version=-1, timestamp=WHEN)


@pytest.mark.parametrize(
    "feed",
    [
        {"name": "main", "atom": "a", "rss": "r"},
        {"name": "main", "atom": "a", "rss": "r", "json": "j", "html": "h"},
    ],
)
def test_malformed_feed_entries_are_refused(feed: Mapping[str, str]) -> None:
    with pytest.raises(ValueError, match="feed entry"):
        build_article_payload(
            "article.published", make_article(), version=1, timestamp=WHEN, feeds=[feed]
        )


def test_a_limit_too_small_for_any_body_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        build_article_payload(
            "article.published", make_article(), version=1, timestamp=WHEN, limit=100
        )


def test_lone_surrogates_are_replaced_and_pairs_joined() -> None:
    article = make_article(title="a\ud83d\ude00b\ud800c")
    data = parse(build_article_payload("article.published", article, version=1, timestamp=WHEN))[
        "data"
    ]
    assert data["title"] == "a😀b\ufffdc"


# The order of the cuts.


def cut(article: Article, limit: int, event_type: str = "article.published", **options: Any) -> Any:
    """The data of a body built with a small limit (checked against the schema)."""
    body = build_article_payload(
        event_type, article, version=1, timestamp=WHEN, limit=limit, **options
    )
    return parse(body, limit)["data"]


def full_size(article: Article, event_type: str = "article.published", **options: Any) -> int:
    """The size of the uncut body."""
    body = build_article_payload(
        event_type, article, version=1, timestamp=WHEN, limit=10**9, **options
    )
    return len(body)


def is_cut_of(text: str, original: str) -> bool:
    """True if ``text`` is ``original``, empty, or a prefix of it followed by "…"."""
    if text in (original, ""):
        return True
    return text.endswith("…") and original.startswith(text.removesuffix("…"))


def assert_cut_in_order(data: Any, article: Article, event_type: str, changed: list[str]) -> None:
    """Every value is the original or a cut of it, and a field is only touched
    once every field before it in the documented order is gone entirely."""
    article = well_formed(article)
    changed = [well_formed_text(heading) for heading in changed]
    if event_type == "article.deleted":
        article = msgspec.structs.replace(article, sections=(), summary="")
        data = {**data, "summary": ""}
    if event_type != "article.updated":
        changed = []
    originals = [(s.heading, s.summary) for s in article.sections]
    kept = [(s["heading"], s["summary"]) for s in data["sections"]]
    assert [heading for heading, _ in kept] == [h for h, _ in originals[: len(kept)]]
    assert all(is_cut_of(now, was) for (_, now), (_, was) in zip(kept, originals, strict=False))
    whole = originals[: len(kept)]
    stages = [  # (touched, gone) of each step, in order
        (kept != whole, all(summary == "" for _, summary in kept)),
        (len(kept) < len(originals), kept == []),
        (data["summary"] != article.summary, data["summary"] == ""),
        (data["description"] != article.description, data["description"] == ""),
        (data["changed_sections"] != changed, data["changed_sections"] == []),
        (data["tags"] != list(article.tags), data["tags"] == []),
        (data["authors"] != list(article.authors), data["authors"] == []),
        (data["title"] != article.title, False),
    ]
    for later, (touched, _) in enumerate(stages):
        if touched:
            assert all(gone for _, gone in stages[:later]), (later, data)
    for key in ("summary", "description", "title", "id"):
        assert is_cut_of(data[key], getattr(article, key))
    for key in ("tags", "authors"):
        assert data[key] == list(getattr(article, key))[: len(data[key])]
    assert data["changed_sections"] == changed[: len(data["changed_sections"])]
    assert data["url"] in (article.url, None)


def well_formed_text(text: str) -> str:
    """Surrogate pairs joined, lone surrogates replaced, as the bodies carry text."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def well_formed(article: Article) -> Article:
    """The article with well-formed text in the fields a body carries."""
    fix = well_formed_text
    return msgspec.structs.replace(
        article,
        id=fix(article.id),
        url=None if article.url is None else fix(article.url),
        title=fix(article.title),
        description=fix(article.description),
        summary=fix(article.summary),
        authors=tuple(map(fix, article.authors)),
        tags=tuple(map(fix, article.tags)),
        sections=tuple(Section(fix(s.heading), (), fix(s.summary)) for s in article.sections),
    )


LONG_SECTIONS = tuple(Section(f"Part {n}", (), f"{n} " + "word " * 60) for n in range(6))
RICH = make_article(
    sections=LONG_SECTIONS,
    summary="sum " * 200,
    description="desc " * 200,
    tags=tuple(f"tag{n}" for n in range(100)),
    authors=tuple(f"Author {n}" for n in range(100)),
    title="The title " * 30,
)
CHANGED = [f"Part {n}" for n in range(6)]


def test_the_last_section_summaries_go_first() -> None:
    article = make_article(sections=LONG_SECTIONS)
    data = cut(article, full_size(article) - 500)
    summaries = [section["summary"] for section in data["sections"]]
    originals = [section.summary for section in LONG_SECTIONS]
    assert data["truncated"] is True
    assert [section["heading"] for section in data["sections"]] == [f"Part {n}" for n in range(6)]
    assert summaries[:4] == originals[:4]
    assert summaries[4].endswith("…") and originals[4].startswith(summaries[4][:-1])
    assert summaries[5] == ""
    assert data["title"] == article.title
    assert data["summary"] == article.summary
    assert data["description"] == article.description


def test_sections_go_before_the_article_summary() -> None:
    article = make_article(sections=LONG_SECTIONS, summary="sum " * 200)
    without_sections = full_size(make_article(sections=(), summary="sum " * 200))
    data = cut(article, without_sections + 40)
    assert data["summary"] == article.summary
    assert data["sections"] == [{"heading": "Part 0", "summary": ""}]


def test_summaries_and_lists_go_before_the_title() -> None:
    bare = make_article(sections=(), summary="", description="", tags=(), authors=())
    room = full_size(
        make_article(title=RICH.title, sections=(), summary="", description="", tags=(), authors=())
    )
    data = cut(RICH, room + 300, "article.updated", changed_sections=CHANGED)
    assert data["sections"] == [] and data["summary"] == "" and data["description"] == ""
    assert data["changed_sections"] == [] and data["tags"] == []
    assert 0 < len(data["authors"]) < len(RICH.authors)
    assert data["title"] == RICH.title
    data = cut(RICH, room - 100, "article.updated", changed_sections=CHANGED)
    assert data["tags"] == data["authors"] == data["changed_sections"] == []
    assert data["title"].endswith("…") and RICH.title.startswith(data["title"][:-1])
    assert full_size(bare) < room


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_limit_cuts_in_order(event_type: str) -> None:
    full = full_size(RICH, event_type, changed_sections=CHANGED)
    for limit in range(400, full + 200, 97):
        data = cut(RICH, limit, event_type, changed_sections=CHANGED)
        assert data["truncated"] is (limit < full)
        assert_cut_in_order(data, RICH, event_type, CHANGED)


def test_a_pathological_article_fits() -> None:
    article = make_article(
        title="😀" * 1_000_000,
        description="é" * 100_000,
        summary="x" * 100_000,
        sections=tuple(Section(f"S{n}", ("p",), "s" * 300) for n in range(10_000)),
        tags=tuple(f"tag{n}" for n in range(10_000)),
        authors=tuple(f"Author {n}" for n in range(10_000)),
        url="https://example.com/" + "u" * 100_000,
    )
    for event_type in EVENT_TYPES:
        data = cut(article, MAX_BODY_BYTES, event_type, changed_sections=["S1"] * 10_000)
        assert data["truncated"] is True
        assert data["url"] is None
        assert data["id"] == article.id
        assert data["title"].endswith("😀…")
        assert set(data["title"].removesuffix("…")) == {"😀"}
        assert len(data["title"]) > 4_000


def test_huge_identifiers_are_cut_last_but_cut() -> None:
    article = make_article(id="i" * 50_000, title="t" * 50_000)
    feeds = [dict(FEEDS[1], name="n" * 30_000)]
    data = cut(article, MAX_BODY_BYTES, feeds=feeds)
    assert data["url"] is None and data["feeds"] == []
    assert data["id"].endswith("…") and data["title"] == ""


def test_a_long_url_alone_is_dropped_before_the_title_is_cut() -> None:
    article = make_article(url="https://example.com/" + "u" * 30_000)
    data = cut(article, MAX_BODY_BYTES)
    assert data["url"] is None
    assert data["title"] == article.title


def test_one_huge_tag_or_heading_is_dropped() -> None:
    article = make_article(tags=("t" * 50_000, "film"), sections=(Section("h" * 50_000, (), "s"),))
    data = cut(article, MAX_BODY_BYTES)
    assert data["tags"] == []
    assert data["sections"] == []
    assert data["title"] == article.title


def test_escaped_characters_count_as_their_encoded_size() -> None:
    article = make_article(summary='"\\\n\x01' * 10_000)
    data = cut(article, 4_000)
    assert data["summary"].endswith("…")
    assert is_cut_of(data["summary"], article.summary)


def test_astral_characters_are_never_split() -> None:
    article = make_article(title="𝄞😀" * 20_000)
    for limit in range(400, 460):
        title = cut(article, limit)["title"]
        assert is_cut_of(title, article.title)


# Properties.

texts = st.text(st.characters(codec=None), max_size=200)
#: Text, often long: a random piece (astral characters, escapes, combining marks) repeated.
long_texts = st.one_of(
    texts,
    st.builds(
        lambda piece, times: piece * times,
        st.text(st.sampled_from('a😀é"\\\n 𝄞中\u0301\ud83d'), min_size=1, max_size=12),
        st.integers(0, 400),
    ),
)
sections = st.builds(Section, heading=texts, paragraphs=st.just(()), summary=long_texts)
articles = st.builds(
    make_article,
    id=texts.filter(bool),
    title=long_texts,
    description=long_texts,
    summary=long_texts,
    url=st.none() | texts,
    authors=st.lists(texts, max_size=50).map(tuple),
    tags=st.lists(texts, max_size=50).map(tuple),
    sections=st.lists(sections, max_size=60).map(tuple),
)
limits = st.sampled_from([MAX_BODY_BYTES, 2_000, 1_000, 600])


@settings(max_examples=200, deadline=None)
@given(articles, st.sampled_from(EVENT_TYPES), limits, st.lists(texts, max_size=20))
def test_any_article_gives_valid_json_within_the_limit(
    article: Article, event_type: str, limit: int, changed: list[str]
) -> None:
    options: dict[str, Any] = {"version": 7, "timestamp": WHEN, "changed_sections": changed}
    body = build_article_payload(event_type, article, limit=limit, **options)
    data = parse(body, limit)["data"]
    whole = build_article_payload(event_type, article, limit=10**9, **options)
    assert data["truncated"] is (len(whole) > limit)
    event("truncated" if data["truncated"] else "whole")
    if not data["truncated"]:
        assert body == whole
    assert_cut_in_order(data, article, event_type, changed)


@settings(max_examples=60, deadline=None)
@given(articles, limits)
def test_the_precap_shortcut_changes_nothing(article: Article, limit: int) -> None:
    options: dict[str, Any] = {"version": 1, "timestamp": WHEN, "limit": limit}
    capped = build_article_payload("article.published", article, **options)
    with patch.object(payload, "_precap", lambda data, limit: None):
        uncapped = build_article_payload("article.published", article, **options)
    assert capped == uncapped
