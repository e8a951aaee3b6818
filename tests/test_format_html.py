"""The HTML format: a well-formed article, hostile input, malformed markup and limits."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime

import nh3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from worker.core.draft import MetaEntry
from worker.core.errors import InputError
from worker.core.formats import html as html_format
from worker.core.formats import html_limits
from worker.core.formats.html import parse_html
from worker.core.formats.html_limits import check_structure
from worker.core.formats.html_tokens import tokens
from worker.core.model import Rating
from worker.core.pipeline import parse_article

HTML = FIXTURES / "html"
ACTIVE_MARKUP = ("<script", "onerror", "onload", "onclick", "javascript:", "PWNED")


def read(name: str) -> str:
    return (HTML / name).read_text(encoding="utf-8")


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><h1>Title</h1>{body}</body></html>"


# ---------------------------------------------------------------------- the article


def test_the_fixture_article_is_read_from_head_and_body() -> None:
    result = parse_article(read("salt-orchard.html").encode(), format="html")
    article = result.article
    assert article.title == "The Salt Orchard (2022): Ending Explained"
    assert article.description.startswith("Why Eliza burns the last tree")
    assert article.metadata.release_year == 2022
    assert article.metadata.rating == Rating(7.25, 10.0)
    assert article.authors == ("Wren Halloway",)
    assert article.tags == ("drama", "mystery")
    assert article.published == datetime(2024, 3, 14, tzinfo=UTC)
    assert article.url == "https://example.com/films/the-salt-orchard-ending-explained"
    assert article.language == "en"
    assert [section.heading for section in article.sections] == [
        "Where the Story Leaves Off",
        "The Night of the Last Harvest",
        "Why Eliza Burns the Tree",
        "Tomas and the Debt He Carried",
        "Reading the Flood Differently",
        "What Stays With You",
    ]
    assert all(len(section.paragraphs) == 2 for section in article.sections)
    assert article.sections[0].paragraphs[0].startswith("The Salt Orchard spends")
    assert "The Reel Notebook" not in article.to_json()  # the site header before the title
    assert result.warnings == ()


def test_the_draft_keeps_head_metadata_under_known_keys() -> None:
    draft = parse_html(read("salt-orchard.html"))
    assert draft.title == "The Salt Orchard (2022): Ending Explained"
    assert draft.title_line is None
    keys = [entry.key for entry in draft.meta]
    assert keys == ["language", "author", "keywords", "published", "url", "Release Year", "Rating"]
    assert MetaEntry("Rating", "7.25/10") in draft.meta
    assert draft.sections[0].line is None


def test_the_first_h1_wins_over_the_title_element_and_text_before_it_is_ignored() -> None:
    draft = parse_html(
        "<title>Site | Page</title><p>Skip to content</p><h1>Real Title</h1>"
        "<p>A description.</p><h2>One</h2><p>Text.</p>"
    )
    assert draft.title == "Real Title"
    assert draft.description == "A description."
    assert [section.heading for section in draft.sections] == ["One"]


def test_the_title_element_is_the_fallback_with_its_markup_removed() -> None:
    draft = parse_html(
        "<title>A <b>Bold</b> &amp; <script>x()</script>Plain Title</title><h2>One</h2><p>x</p>"
    )
    assert draft.title == "A Bold & Plain Title"
    assert draft.sections[0].heading == "One"


def test_headings_below_h2_are_paragraphs_and_a_second_h1_opens_a_section() -> None:
    draft = parse_html(
        "<h1>T</h1><h2>First</h2><h3>Minor</h3><p>Body.</p><h1>Second Top</h1><p>More.</p>"
    )
    assert [(s.heading, s.paragraphs) for s in draft.sections] == [
        ("First", ["Minor", "Body."]),
        ("Second Top", ["More."]),
    ]


def test_front_block_metadata_in_paragraphs_and_line_breaks() -> None:
    draft = parse_html(
        "<h1>T</h1><p>A description.</p><p>Release Year: 2021<br>Rating: 7.25/10<br>"
        "Runtime: 98 min</p><p>An intro paragraph.</p><h2>One</h2><p>x</p>"
    )
    assert draft.description == "A description."
    assert [(entry.key, entry.value) for entry in draft.meta] == [
        ("Release Year", "2021"),
        ("Rating", "7.25/10"),
        ("Runtime", "98 min"),
    ]
    assert draft.sections[0].heading == ""
    assert draft.sections[0].paragraphs == ["An intro paragraph."]


def test_a_head_description_keeps_the_first_paragraph_in_the_article() -> None:
    draft = parse_html(
        page(
            "<p>The opening paragraph.</p><h2>One</h2><p>x</p>",
            head='<meta name="description" content="From the head.">',
        )
    )
    assert draft.description == "From the head."
    assert draft.sections[0].paragraphs == ["The opening paragraph."]


def test_lists_quotes_tables_and_breaks_become_paragraphs() -> None:
    draft = parse_html(
        "<h1>T</h1><h2>S</h2><ul><li>one</li><li>two <em>2</em></li></ul>"
        "<blockquote>quoted</blockquote><pre>code\n  here</pre>"
        "<table><tr><th>Actor</th><th>Role</th></tr><tr><td>A</td><td>B</td></tr></table>"
        "<p>line<br>break</p><nav><a href='/'>Home</a></nav>"
    )
    assert draft.sections[0].paragraphs == [
        "one",
        "two 2",
        "quoted",
        "code\n  here",
        "Actor | Role",
        "A | B",
        "line break",
    ]


def test_html_language_and_article_tags() -> None:
    result = parse_article(
        '<html lang="pt_br"><head><meta property="article:tag" content="Drama">'
        '<meta property="article:tag" content="Noir"><meta name="keywords" content="a; b">'
        '<meta property="article:modified_time" content="2024-05-02T10:00:00+02:00">'
        "</head><body><h1>T</h1><h2>S</h2><p>x</p></body></html>",
        format="html",
    )
    article = result.article
    assert article.language == "pt-BR"
    assert article.tags == ("Drama", "Noir", "a", "b")
    assert article.updated == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)


# ------------------------------------------------------------------- hostile input


def test_the_hostile_fixture_loses_all_active_markup_and_keeps_the_text() -> None:
    result = parse_article(read("hostile-injection.html").encode(), format="html")
    document = result.article.to_json()
    for marker in ACTIVE_MARKUP:
        assert marker not in document
    article = result.article
    assert article.title == "The Glass Harbour (2020)"
    assert article.description == "A film about a lighthouse."
    assert article.authors == ("Ada Vane",)
    assert article.tags == ("thriller",)
    assert article.url is None
    assert [section.heading for section in article.sections] == [
        "The Setup",
        "The Payloads",
        "The Ending",
    ]
    setup, payloads, _ = article.sections
    assert "It has a plain link, an encoded link and an escaped link." in setup.paragraphs
    assert "Styled text stays." in setup.paragraphs
    assert "Before the script. After the script." in payloads.paragraphs
    assert "Before the SVG. After the SVG." in payloads.paragraphs
    assert "Summary text stays." in payloads.paragraphs
    assert [w.code for w in result.warnings] == ["bad_metadata_value"]


PAYLOADS = [
    "<script>PWNED()</script>",
    "<SCRIPT>PWNED()</SCRIPT>",
    "<script>PWNED() // never closed",
    "<script><!--<script>PWNED()</script>PWNED()</script>",
    "<svg onload=PWNED()><script>PWNED()</script><text>PWNED</text></svg>",
    "<svg><style><img src=x onerror=PWNED()></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=PWNED()>",
    "<iframe src=javascript:PWNED()>PWNED</iframe>",
    "<iframe srcdoc='&lt;script&gt;PWNED()&lt;/script&gt;'></iframe>",
    "<object data=javascript:PWNED()>PWNED</object><embed src=javascript:PWNED()>",
    "<style>@import 'javascript:PWNED()'; p::before { content: 'PWNED' }</style>",
    "<template><p>PWNED</p><script>PWNED()</script></template>",
    "<noscript>PWNED <img src=x onerror=PWNED()></noscript>",
    "<textarea>PWNED</textarea><select><option>PWNED</option></select>",
    "<xmp><script>PWNED()</script></xmp><noembed>PWNED</noembed><noframes>PWNED</noframes>",
    "<!-- <script>PWNED()</script> --><!--><p title='--><img src=x onerror=PWNED()>'>",
    "<![CDATA[<img src=x onerror=PWNED()>]]>",
    "<img src=x onerror=PWNED()><body onload=PWNED()><input onfocus=PWNED() autofocus>",
    "<a href='jav&#x09;ascript:PWNED()'>x</a><a href=' javascript:PWNED()'>y</a>",
    "<div style='background:url(javascript:PWNED())' onmouseover='PWNED()'>z</div>",
    "<plaintext><script>PWNED()</script>",
    "<button formaction=javascript:PWNED()>PWNED</button>",
    "<video><source onerror=PWNED()>PWNED</video><audio src=x onerror=PWNED()>PWNED</audio>",
    "<details open ontoggle=PWNED()><summary>s</summary></details>",
    "<a href=x onclick=PWNED() onmouseover=PWNED()>link</a>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_payload_leaves_no_active_markup_in_the_article(payload: str) -> None:
    document = parse_article(page(f"<h2>S</h2><p>before {payload} after</p>"), format="html")
    text = document.article.to_json()
    for marker in ACTIVE_MARKUP:
        assert marker not in text


def test_head_attributes_are_plain_text_without_markup() -> None:
    draft = parse_html(
        page(
            "<h2>S</h2><p>x</p>",
            head='<meta name="author" content="&lt;script&gt;PWNED()&lt;/script&gt;Ada '
            '&amp;lt; Vane"><meta name="description" content="<b>Bold</b> claim">',
        )
    )
    assert draft.meta[0] == MetaEntry("author", "Ada &lt; Vane")
    assert draft.description == "Bold claim"


def test_entity_encoded_markup_is_kept_as_the_literal_text_a_browser_shows() -> None:
    draft = parse_html(read("entity-text.html"))
    assert draft.title == "Escaping & Entities in \u201cReel\u201d Titles"
    assert draft.sections[0].paragraphs == [
        "The review quotes the tag <script> literally \u2014 \u00a9 2024.",
        "Caf\u00e9 scenes, 5 < 7, and &lt; stays one level decoded.",
    ]


# ------------------------------------------------------------------ malformed markup


def test_malformed_markup_still_gives_a_draft() -> None:
    draft = parse_html(read("malformed.html"))
    assert draft.title == "Broken Markup: A Case Study"
    assert [(s.heading, s.paragraphs) for s in draft.sections] == [
        (
            "No Level-One Heading",
            [
                "First paragraph is never closed",
                "Second paragraph bold bold italic italic text",
                "one",
                "two",
                "three",
                "cell a | cell b",
                "cell c",
            ],
        ),
        (
            "Still Parsed",
            [
                "A heading that was never closed, and a",
                "division",
                "with a paragraph inside",
                "Minor heading",
                "The end",
            ],
        ),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "</p></p></div></span></h2>" * 50,
        "<p>" * 500 + "text",
        "<div><span><b><i>" * 40 + "deep",
        "<table><td>a<td>b</table></table></td>",
        "<h2>unclosed <p>para <li>item <table><tr><td>cell",
        "<a href='x'>one<a href='y'>two</a></b></i>",
        "<p>unterminated <b attr='never closed",
        "<!-- unterminated comment <script>PWNED()</script>",
        "<![CDATA[ no end",
        "&#x0; &#xD800; &bogus; &#99999999; &amp",
    ],
)
def test_malformed_fragments_never_raise_anything_but_input_errors(body: str) -> None:
    try:
        draft = parse_html("<h1>T</h1>" + body)
    except InputError:
        return
    assert draft.title == "T"
    assert "PWNED" not in repr(draft)


def test_no_title_anywhere_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        parse_html("<p>Just a paragraph.</p>")
    assert caught.value.problem == "no_title"


def test_whitespace_only_input_is_empty() -> None:
    with pytest.raises(InputError) as caught:
        parse_html("  \n\t ")
    assert caught.value.problem == "empty"


def test_unpaired_surrogates_are_replaced_not_raised() -> None:
    draft = parse_html("<h1>Title \ud800 here</h1><h2>S</h2><p>x\udfff</p>")
    assert draft.title == "Title \ufffd here"


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("tag", ["div", "span", "em", "section", "x-custom", "blockquote", "ul"])
def test_ten_thousand_levels_of_nesting_are_refused(tag: str) -> None:
    html = "<h1>T</h1>" + f"<{tag}>" * 10_000 + "deep" + f"</{tag}>" * 10_000
    with pytest.raises(InputError) as caught:
        parse_html(html)
    assert caught.value.problem == "too_complex"
    assert "nests more than 256 elements" in str(caught.value)


@pytest.mark.parametrize("tag", ["table", "li", "p", "a", "option", "h2"])
def test_repeated_tags_that_close_their_predecessor_are_not_deep(tag: str) -> None:
    html = "<h1>T</h1>" + f"<{tag}>x" * 10_000
    parse_html(html)


def test_moderate_nesting_is_accepted() -> None:
    html = "<h1>T</h1><h2>S</h2>" + "<div>" * 200 + "<p>deep text</p>" + "</div>" * 200
    assert parse_html(html).sections[0].paragraphs == ["deep text"]


def test_misnested_formatting_tags_that_would_be_reopened_for_every_paragraph_are_refused() -> None:
    bomb = "<h1>T</h1>" + "".join(f"<p><b id={i}></p>" for i in range(3_000)) + "<p>x</p>" * 500
    with pytest.raises(InputError) as caught:
        parse_html(bomb)
    assert caught.value.problem == "too_complex"


def test_a_comment_that_hides_tags_from_a_naive_scanner_does_not_hide_them_here() -> None:
    with pytest.raises(InputError):
        check_structure("<!-->" + "<div>" * 2_000 + "-->")


def test_tags_inside_scripts_attributes_and_comments_are_not_elements() -> None:
    check_structure(
        "<script>" + "'<div>' + " * 3_000 + "''</script>"
        + "<p title='" + "<div>" * 1_000 + "'>x</p>"
        + "<!-- " + "<div>" * 1_000 + " -->"
    )  # fmt: skip


def test_sloppy_but_shallow_markup_is_accepted() -> None:
    check_structure(
        "<ul>" + "<li>item <b>bold" * 1_500 + "</ul>"
        + "<table>" + "<tr><td>a<td>b<td>c" * 1_500 + "</table>"
        + "<p>para <i>it</p>" * 1_500
        + '<svg viewBox="0 0 1 1"><title>icon</title><path d="M0"/><g><circle r="1"/></g></svg>'
        * 500
    )  # fmt: skip


def test_a_one_mebibyte_document_parses_in_linear_time() -> None:
    section = "<h2>Section</h2><p>" + "word " * 60 + "</p>"
    html = "<h1>Big</h1>" + section * (1_048_000 // len(section))
    draft = parse_html(html)
    assert len(draft.sections) == 1_048_000 // len(section)


def test_five_thousand_sections() -> None:
    html = "<h1>Many</h1>" + "".join(f"<h2>S{i}</h2><p>p{i}</p>" for i in range(5_000))
    article = parse_article(html, format="html").article
    assert len(article.sections) == 5_000
    assert article.sections[-1].heading == "S4999"


# ----------------------------------------------------------------------- properties

TAGS = [
    *("div", "p", "b", "i", "a", "li", "ul", "table", "tr", "td", "h1", "h2", "h3", "span"),
    *("em", "form", "select", "option", "svg", "math", "title", "textarea", "noscript"),
    *("iframe", "xmp", "template", "pre", "br", "img", "font", "nobr", "button", "caption"),
]
ATTRIBUTES = ["", " a=1", ' title="<x>"', " onclick=alert(1)", " href='javascript:x'", "/"]
TEXT = ["text", " ", "&amp;", "&lt;b&gt;", "< ", "\x00", "\u00e9", "a > b"]

tag_soup = st.lists(
    st.one_of(
        st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), st.sampled_from(ATTRIBUTES)),
        st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
        st.sampled_from(TEXT),
        st.sampled_from(["<!--", "-->", "<!-->", "<![CDATA[", "]]>", "<!x>", "</ x>", "<?x>"]),
    ),
    max_size=80,
).map("".join)

soup_without_bogus_comments = st.lists(
    st.one_of(
        st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), st.sampled_from(ATTRIBUTES)),
        st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
        st.sampled_from(TEXT),
    ),
    max_size=40,
).map("".join)


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_raises_nothing_but_input_errors(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_html(text)


@given(tag_soup)
@settings(max_examples=300)
def test_tag_soup_raises_nothing_but_input_errors(soup: str) -> None:
    with contextlib.suppress(InputError):
        parse_html("<h1>T</h1>" + soup)


@given(soup_without_bogus_comments, soup_without_bogus_comments)
@settings(max_examples=300)
def test_script_content_never_appears_wherever_the_script_lands(before: str, after: str) -> None:
    try:
        draft = parse_html(f"<h1>T</h1>{before}<script>SECRET()</script>{after}")
    except InputError:
        return
    assert "SECRET" not in repr(draft)


# The structure check must never estimate less than the depth html5ever really builds
# (a lower estimate could let a quadratic document through). Elements that html5ever
# keeps in the tree after taking them off its stack (<form>, a re-opened <a>) are left
# out: for them the tree is deeper than the stack ever was.
DEPTH_TAGS = [tag for tag in TAGS if tag not in ("form", "a", "br", "img")]
DEPTH_CLEANER = nh3.Cleaner(
    tags={tag for tag in DEPTH_TAGS if tag not in html_format.DROPPED_TAGS}, attributes={}
)
depth_soup = st.lists(
    st.one_of(
        st.builds(
            lambda t, a: f"<{t}{a}>", st.sampled_from(DEPTH_TAGS), st.sampled_from(ATTRIBUTES)
        ),
        st.builds(lambda t: f"</{t}>", st.sampled_from(DEPTH_TAGS)),
        st.sampled_from([*TEXT, "<!-->", "<!-- x -->", "<![CDATA[", "]]>"]),
    ),
    max_size=60,
).map("".join)


def tree_depth(html: str) -> int:
    depth = deepest = 0
    for closing, _ in re.findall(r"<(/?)([a-z0-9]+)>", DEPTH_CLEANER.clean(html)):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


@given(depth_soup)
@settings(max_examples=400, derandomize=True)
def test_the_structure_check_never_underestimates_the_parsers_depth(soup: str) -> None:
    model = html_limits._TreeModel()  # the check's own model, measured directly
    try:
        for token in tokens(soup):
            html_limits._feed(model, token, soup)
    except html_limits._Uncertain:  # where the check falls back to counting tags
        return
    assert model.deepest >= tree_depth(soup)
