"""feeds.markup: HTML is made only by escaping and allow-listed elements; text for
plain-text-only slots keeps every character."""

from __future__ import annotations

import typing

import pytest

from feeds.index_page import feed_index_html
from feeds.markup import (
    CONTENT_TAGS,
    Html,
    element,
    escape,
    fill,
    join,
    needs_html,
    plain_text,
)
from tests.feed_rules import ALLOWED_TAGS, html_elements


def test_html_cannot_be_made_from_a_string() -> None:
    with pytest.raises(TypeError):
        Html("<script>alert(1)</script>", object())


def test_html_is_not_text() -> None:
    with pytest.raises(TypeError):
        str(escape("x"))
    with pytest.raises(TypeError):
        _ = f"{escape('x')}"


def test_escaped_text_displays_exactly_and_has_no_element() -> None:
    text = "a <script>alert(1)</script> & b &amp; </p>"
    markup = escape(text).markup
    assert html_elements(markup) == []
    assert markup == "a &lt;script&gt;alert(1)&lt;/script&gt; &amp; b &amp;amp; &lt;/p&gt;"


def test_elements_escape_their_text_and_come_from_the_allow_list() -> None:
    built = element("p", "x <b>", element("em", "y"))
    assert built.markup == "<p>x &lt;b&gt;<em>y</em></p>"
    assert CONTENT_TAGS == ALLOWED_TAGS
    with pytest.raises(ValueError, match="not one of the content elements"):
        element(typing.cast(typing.Any, "script"), "x")


def test_join_takes_whitespace_only() -> None:
    assert join([element("p", "a"), element("p", "b")]).markup == "<p>a</p>\n<p>b</p>"
    with pytest.raises(ValueError, match="whitespace"):
        join([element("p", "a")], "<br>")


def test_fill_escapes_text_values_also_in_attributes() -> None:
    page = fill('<a href="/x/{path}">{label}</a>', path='a"><script>', label=escape("<i>"))
    assert page.markup == '<a href="/x/a&quot;&gt;&lt;script&gt;">&lt;i&gt;</a>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tags & <b>markup</b> in text", "Tags & <b>markup< /b> in text"),
        ("Jo <script>x</script> Doe", "Jo <script>x< /script> Doe"),
        ("Ann <ann@example.org>", "Ann < ann@example.org>"),
        ("a<b>c", "a<b>c"),
        ("a </ b> c, 1 < 2 > 0", "a </ b> c, 1 < 2 > 0"),
    ],
)
def test_plain_text_only_changes_end_tags_and_addresses(text: str, expected: str) -> None:
    assert plain_text(text) == expected
    assert plain_text(text).replace(" ", "") == text.replace(" ", "")


def test_needs_html() -> None:
    assert needs_html("a < b") and needs_html("AT&T") and not needs_html("a > b")


def test_the_feeds_page_escapes_feed_names_and_links() -> None:
    page = feed_index_html(
        "Films & <i>Co</i>",
        [("main", "Films", ""), ("author:jo", "Jo <script>x</script>", 'authors/"x/')],
    ).markup
    assert "<script>" not in page and "<i>" not in page
    assert "Jo &lt;script&gt;x&lt;/script&gt;" in page
    assert 'href="/feeds/authors/&quot;x/atom.xml"' in page
    assert page.count("<a ") == 6
