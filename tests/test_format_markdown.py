"""The Markdown format: front matter, structure, inline markup, raw HTML and limits."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from worker.core.draft import MetaEntry
from worker.core.errors import InputError
from worker.core.formats.markdown import parse_markdown
from worker.core.model import Rating
from worker.core.pipeline import parse_article

MARKDOWN = FIXTURES / "markdown"
ACTIVE_MARKUP = ("<script", "onerror", "onload", "onclick", "javascript:", "PWNED")


def read(name: str) -> str:
    return (MARKDOWN / name).read_text(encoding="utf-8")


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_markdown(text)
    return caught.value


# ---------------------------------------------------------------------- the article


def test_the_fixture_article_with_front_matter() -> None:
    result = parse_article(read("salt-orchard.md").encode(), format="markdown")
    article = result.article
    assert article.title == "The Salt Orchard (2022): Ending Explained"
    assert article.description.startswith("Why Eliza burns the last tree")
    assert article.metadata.release_year == 2022
    assert article.metadata.rating == Rating(7.25, 10.0)
    assert article.authors == ("Wren Halloway",)
    assert article.tags == ("drama", "mystery")
    assert article.published == datetime(2024, 3, 14, tzinfo=UTC)
    assert len(article.sections) == 6
    assert article.sections[0].heading == "Where the Story Leaves Off"
    assert article.sections[0].paragraphs[0].startswith("The Salt Orchard spends most")
    assert result.warnings == ()


def test_front_matter_keys_are_kept_as_written_with_their_lines() -> None:
    draft = parse_markdown(read("salt-orchard.md"))
    assert draft.title == "The Salt Orchard (2022): Ending Explained"
    assert draft.title_line == 2
    assert draft.meta[:3] == [
        MetaEntry("release_year", 2022, 4),
        MetaEntry("rating", "7.25/10", 5),
        MetaEntry("author", "Wren Halloway", 6),
    ]
    assert MetaEntry("tags", ["drama", "mystery"], 7) in draft.meta
    assert MetaEntry("published", "2024-03-14", 8) in draft.meta
    assert draft.sections[0].line == 15


def test_metadata_lines_setext_title_and_block_kinds() -> None:
    draft = parse_markdown(read("metadata-lines.md"))
    assert draft.title == "Nightjar Road (2018): Ending Explained"
    assert draft.description == "A night bus, a missing driver and the passenger who knew too much."
    assert [(entry.key, entry.value, entry.line) for entry in draft.meta] == [
        ("Release Year", "2018", 5),
        ("Rating", "8/10", 6),
        ("Author", "Sol Ferreira & Ines Okafor", 7),
        ("Runtime", "104 min", 8),
    ]
    assert [(s.heading, s.paragraphs) for s in draft.sections] == [
        ("", ["The intro paragraph stays in an untitled section."]),
        (
            "What Happens",
            [
                "The bus stops at a crossroads that is not on any map.",
                "A Minor Heading",
                "Becomes a paragraph of the section.",
                "First numbered item",
                "Second numbered item",
                "nested under the second",
                "A quoted line that wraps.",
                "indented code stays verbatim",
                "Character | Actor",
                "The driver | Unknown",
            ],
        ),
        ("A Second Level-One Heading", ["Opens a section of its own."]),
    ]
    article = parse_article(read("metadata-lines.md"), format="markdown").article
    assert article.authors == ("Sol Ferreira", "Ines Okafor")
    assert article.metadata.extra == {"Runtime": "104 min"}


def test_a_heading_equal_to_the_front_matter_title_is_skipped_others_open_sections() -> None:
    same = parse_markdown("---\ntitle: The Film\n---\n# the  film\n\n## One\n\nText.\n")
    assert [s.heading for s in same.sections] == ["One"]
    different = parse_markdown("---\ntitle: The Film\n---\n# Another Heading\n\nText.\n")
    assert different.title == "The Film"
    assert [(s.heading, s.paragraphs) for s in different.sections] == [
        ("Another Heading", ["Text."])
    ]


def test_a_front_matter_description_keeps_the_first_paragraph_and_reads_metadata_lines() -> None:
    draft = parse_markdown(
        "---\ndescription: From the front matter.\n---\n# T\n\nOpening paragraph.\n"
        "Release Year: 2020\n\n## One\n\nx\n"
    )
    assert draft.description == "From the front matter."
    assert draft.sections[0].paragraphs == ["Opening paragraph."]
    assert [entry.key for entry in draft.meta] == ["Release Year"]


def test_front_matter_values_become_plain_metadata() -> None:
    draft = parse_markdown(
        "---\npublished: 2024-05-01 09:30:00+02:00\nscores: {imdb: 7.1, ok: yes}\n"
        "years: !!set {2020, 2019}\n2021: numeric key\nempty:\n---\n# T\n"
    )
    assert draft.meta == [
        MetaEntry("published", "2024-05-01T09:30:00+02:00", 2),
        MetaEntry("scores", {"imdb": 7.1, "ok": True}, 3),
        MetaEntry("years", [2019, 2020], 4),
        MetaEntry("2021", "numeric key", 5),
    ]


def test_no_front_matter_description_is_read_from_the_first_paragraph() -> None:
    draft = parse_markdown("# Title\n\nThe description.\n\nBody text.\n")
    assert draft.description == "The description."
    assert draft.sections[0].paragraphs == ["Body text."]


def test_inline_markup_becomes_plain_text() -> None:
    draft = parse_markdown(
        '# *The* `Code` Title\n\n## S\n\n**Bold**, _em_, ~~gone~~, [a link](https://x.y "t"), '
        "![alt *text*](img.png), <https://auto.link>, <a@b.c>, &amp; &copy; \\*escaped\\*.\n"
        "Soft break.  \nHard break.\n"
    )
    assert draft.title == "The Code Title"
    assert draft.sections[0].paragraphs == [
        "Bold, em, gone, a link, alt text, https://auto.link, a@b.c, & \u00a9 *escaped*. "
        "Soft break. Hard break."
    ]


# ------------------------------------------------------------------------- raw HTML


def test_the_hostile_fixture_keeps_text_and_drops_everything_active() -> None:
    result = parse_article(read("hostile-raw-html.md").encode(), format="markdown")
    document = result.article.to_json()
    for marker in ACTIVE_MARKUP:
        assert marker not in document
    setup, ending = result.article.sections
    assert setup.paragraphs == (
        "Inline tags vanish: kept text and and bold.",
        "A plain link, an autolink , an image alt text and a reference link.",
        "Inline script and a comment disappear.",
        "A raw HTML block keeps its text.",
    )
    assert ending.heading == "The Ending"


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>\nPWNED()\n\nPWNED()\n</script>",
        "text <script>PWNED()</script> text",
        "text <svg onload=PWNED()><text>PWNED</text></svg>",
        "<iframe src=x>\n\nPWNED\n\n</iframe>",
        "<style>\n\np { content: 'PWNED' }\n</style>",
        "[x](javascript:PWNED) ![y](javascript:PWNED) <javascript:PWNED>",
        "[ref]\n\n[ref]: javascript:PWNED",
        '<img src="x" onerror="PWNED()"> <a href="javascript:PWNED()">x</a>',
        "<!-- PWNED -->\n\ntext <!-- PWNED --> text",
        "<div>\n<noscript>PWNED</noscript><template>PWNED</template>\n</div>",
    ],
)
def test_raw_html_payloads_leave_nothing_active(markdown: str) -> None:
    result = parse_article(f"# T\n\n## S\n\n{markdown}\n\n## After\n\nend", format="markdown")
    document = result.article.to_json()
    for marker in ACTIVE_MARKUP:
        assert marker not in document
    assert result.article.sections[-1].heading == "After"


# --------------------------------------------------------------------- front matter


def test_front_matter_that_is_a_list_is_refused() -> None:
    error = refused(read("front-matter-list.md"))
    assert error.problem == "invalid_field"
    assert "must be a mapping of keys to values, not a list" in str(error)


def test_invalid_yaml_is_refused_with_its_line() -> None:
    error = refused(read("front-matter-invalid.md"))
    assert error.problem == "invalid_field"
    assert error.line == 5
    assert "not valid YAML" in str(error)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: Never closed\n# T\n", "no closing '---' line"),
        ("---\njust a sentence\n---\n# T\n", "not a single value ('just a sentence')"),
        ("---\ntitle: [a, b]\n---\n# T\n", "'title' must be text, not a list"),
        ("---\ndate: 2024-13-45\n---\n# T\n", "not valid YAML"),
        ("---\n? [a]\n: b\n---\n# T\n", "not valid YAML"),
        ("---\nx: !!python/object:os.system {}\n---\n# T\n", "not valid YAML"),
        ("---\nx: \x00\n---\n# T\n", "not valid YAML"),
        ("---\nx: " + "[" * 40 + "]" * 40 + "\n---\n# T\n", "nested too deeply"),
    ],
)
def test_bad_front_matter_is_refused(text: str, message: str) -> None:
    error = refused(text)
    assert error.problem == "invalid_field"
    assert message in str(error)


def test_deeply_nested_long_front_matter_does_not_crash_the_yaml_parser() -> None:
    nested = "x: " + "[" * 60_000 + "]" * 60_000
    error = refused(f"---\n{nested}\n---\n# T\n")
    assert error.problem == "invalid_field"


def test_a_yaml_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    error = refused("---\n" + "\n".join(lines) + "\n---\n# T\n")
    assert "too large or nested too deeply" in str(error)


def test_empty_front_matter_is_no_front_matter() -> None:
    assert parse_markdown("---\n---\n# T\n").title == "T"


def test_a_thematic_break_later_in_the_document_is_not_front_matter() -> None:
    draft = parse_markdown("# T\n\n---\n\nText.\n\n---\n")
    assert draft.description == "Text."


# -------------------------------------------------------------------- other refusals


def test_no_title_anywhere_is_refused() -> None:
    error = refused("Just a paragraph.\n\n## A section\n\ntext\n")
    assert error.problem == "no_title"


def test_whitespace_only_is_empty() -> None:
    assert refused(" \n\n ").problem == "empty"


# --------------------------------------------------------------------------- limits


def test_five_thousand_sections_parse_in_linear_time() -> None:
    text = "# Many\n\n" + "".join(f"## Section {i}\n\nParagraph {i}.\n\n" for i in range(5_000))
    article = parse_article(text, format="markdown").article
    assert len(article.sections) == 5_000


@pytest.mark.parametrize(
    "body",
    [
        "[" * 50_000,
        "*a" * 50_000,
        "<" * 50_000,
        "> " * 5_000 + "deep quote",
        "".join("  " * i + "- item\n" for i in range(2_000)),
        "`" * 50_000,
        "![" * 20_000,
        "a_" * 50_000,
        "<div>" * 20_000,
    ],
)
def test_pathological_markdown_raises_nothing_but_input_errors(body: str) -> None:
    with contextlib.suppress(InputError):
        parse_markdown("# T\n\n" + body)


# ----------------------------------------------------------------------- properties

MARKDOWN_PIECES = [
    *("# ", "## ", "### ", "\n", "\n\n", "- ", "1. ", "> ", "*", "_", "`", "```", "---"),
    *("[x](y)", "![a](b)", "<b>", "</b>", "<script>", "</script>", "<svg>", "<!--", "-->"),
    *("Key: Value", "Release Year: 2021", "word ", "|a|b|\n|-|-|", "\\", "&amp;", "    "),
]
markdownish = st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=60).map("".join)


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_raises_nothing_but_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_markdown(text)


@given(markdownish)
@settings(max_examples=300)
def test_markdown_shaped_text_raises_nothing_but_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_markdown(text)


@given(st.text(), st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
@settings(max_examples=200)
def test_any_front_matter_raises_nothing_but_input_errors(front: str, body: str) -> None:
    with contextlib.suppress(InputError):
        parse_markdown(f"---\n{front}\n---\n# T\n{body}")
