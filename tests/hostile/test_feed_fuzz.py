"""Property test of the renderer: for article text drawn from markup fragments,
entities, control and bidi characters, the three documents parse, feedparser finds
nothing wrong, no HTML field holds an element or attribute outside the allow-list,
the validator's text and HTML rules (tests/feed_rules.py) give no warning, and the
text stays visible.

U+FFFD is left out of the alphabet: the core keeps it as text and the validator warns
about it in Atom text (BadCharacters), a rule about encoding, not markup.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import feedparser
import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.markup import plain_text
from feeds.render import FeedSpec, render_all
from tests.feed_rules import ALLOWED_TAGS, ATOM, findings, html_elements, html_fields, visible_text
from worker.core.errors import InputError
from worker.core.model import Article
from worker.core.pipeline import parse_article

SPEC = FeedSpec(
    key="tag:fuzz", title="Fuzz", description="Fuzzed articles.",
    site_url="https://fuzz.example/", folder_url="https://fuzz.example/feeds/tags/fuzz/",
    publisher="Fuzz & Co", hub_url="https://fuzz.example/websub",
)  # fmt: skip
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

MARKUP = [
    "<script>", "</script>", "<script>alert(1)</script>", "<b>", "</b>", "<video>",
    "</p>", "<p>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">',
    "javascript:", " onload=", "<svg/onload=alert(1)>", "<!--", "-->", "<![CDATA[", "]]>",
    "<?import x?>", "<3", "a<b", "<ann@example.org>", "</td>", "<", ">", '"', "'", "/",
]  # fmt: skip
ENTITIES = ["&", "&amp;", "&lt;", "&gt;", "&#60;", "&#x3C;", "&#x26;", "&copy", "&copy;",
            "&#0;", "&#1114112;", "&bogus;", "&apos;", "&#"]  # fmt: skip
CONTROLS = ["\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b", "\ufffe", "\t"]
BIDI = ["\u202a", "\u202b", "\u202d", "\u202e", "\u202c", "\u2066", "\u2067", "\u2069",
        "\u200e", "\u200f", "\u061c", "\u200b", "\ufeff", "\u200d"]  # fmt: skip
WORDS = ["Title", "word", "Ending", " ", " ", "é", "日本", "🎬", ".", ","]

fragment = st.sampled_from(MARKUP + ENTITIES + CONTROLS + BIDI + WORDS)
loose = st.text(st.characters(exclude_characters="\ufffd", exclude_categories=("Cs",)), max_size=6)
snippet = st.lists(st.one_of(fragment, fragment, loose), min_size=1, max_size=12).map("".join)
titled = snippet.map(lambda text: "Title " + text)
document = st.fixed_dictionaries(
    {
        "title": st.one_of(titled, snippet),
        "description": snippet,
        "authors": st.lists(snippet, max_size=3),
        "tags": st.lists(snippet, max_size=3),
        "sections": st.lists(
            st.fixed_dictionaries(
                {"heading": snippet, "paragraphs": st.lists(snippet, min_size=0, max_size=2)}
            ),
            max_size=3,
        ),
        "metadata": st.dictionaries(st.sampled_from(["Note", "Runtime", "Studio"]), snippet),
    }
)


def article_of(data: bytes, format: str) -> Article:
    try:
        article = parse_article(data, format=format).article
    except InputError:
        assume(False)  # refused input is the parsers' property (tests/hostile/test_fuzz.py)
        raise
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    return msgspec.structs.replace(article, published=moment, updated=moment)


def check_documents(article: Article) -> None:
    spec = replace(SPEC, title=f"Fuzz: {article.tags[0]}" if article.tags else SPEC.title)
    documents = render_all(spec, [article])
    for kind in ("atom", "rss"):
        etree.fromstring(documents[kind])  # raises on a document that is not XML
        parsed = feedparser.parse(documents[kind])
        assert parsed.bozo == 0, (kind, parsed.get("bozo_exception"))
        assert [str(finding) for finding in findings(kind, documents[kind])] == []
    item = json.loads(documents["json"])["items"][0]
    for kind in ("atom", "rss", "json"):
        for field in html_fields(kind, documents[kind]):
            elements = html_elements(field)
            assert {tag for tag, _ in elements} <= ALLOWED_TAGS, (kind, field)
            assert all(not attributes for _, attributes in elements), (kind, field)
    check_text(article, documents, item)


def check_text(article: Article, documents: dict[str, bytes], item: dict[str, object]) -> None:
    """Titles are shown exactly where the format can carry them."""
    assert item["title"] == article.title
    assert visible_text(str(item["content_html"])).strip()
    atom_title = etree.fromstring(documents["atom"]).find(f"{ATOM}entry/{ATOM}title")
    assert atom_title is not None
    shown = atom_title.text or ""
    assert (visible_text(shown) if atom_title.get("type") == "html" else shown) == article.title
    rss_title = etree.fromstring(documents["rss"]).findtext("channel/item/title")
    assert rss_title == plain_text(article.title)


@FUZZ
@given(fields=document)
def test_any_markup_like_json_article_renders_valid_inert_feeds(fields: dict[str, object]) -> None:
    check_documents(article_of(json.dumps(fields).encode(), "json"))


@FUZZ
@given(lines=st.lists(snippet, min_size=2, max_size=6))
def test_any_markup_like_text_article_renders_valid_inert_feeds(lines: list[str]) -> None:
    data = "\n".join(["Title " + lines[0], *lines[1:]]).encode("utf-8", "surrogatepass")
    check_documents(article_of(data, "text"))
