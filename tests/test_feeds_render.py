"""Feed rendering: valid, byte-stable, the same entries and ids in every format; plain
text written for its context (escaped in HTML fields, visible in text fields)."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from datetime import UTC, datetime

import feedparser
import msgspec
import pytest
from lxml import etree

from feeds.markup import plain_text
from feeds.render import FeedSpec, entry_id, render_all, render_atom, render_rss
from tests.conftest import EXAMPLES
from tests.feed_rules import ALLOWED_TAGS, findings, html_elements, html_fields, visible_text
from worker.core.model import Article
from worker.core.pipeline import parse_article

SPEC = FeedSpec(
    key="main",
    title="Example Films",
    description="Endings, explained.",
    site_url="https://films.example/",
    folder_url="https://films.example/feeds/",
    publisher="Example Films",
    hub_url="https://films.example/websub",
)


def stamped(name: str, published: datetime, updated: datetime) -> Article:
    article = parse_article((EXAMPLES / name).read_bytes()).article
    return msgspec.structs.replace(article, published=published, updated=updated)


@pytest.fixture
def articles() -> list[Article]:
    newer = stamped(
        "everwinter-2019-ending-explained.txt",
        datetime(2024, 5, 1, 9, tzinfo=UTC),
        datetime(2024, 5, 3, 12, tzinfo=UTC),
    )
    older = stamped(
        "the-salt-road-2023-ending-explained.md",
        datetime(2024, 3, 18, 8, tzinfo=UTC),
        datetime(2024, 3, 18, 8, tzinfo=UTC),
    )
    return [newer, older]


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feedparser_reads_the_xml_formats_without_complaint(
    articles: list[Article], kind: str
) -> None:
    document = render_all(SPEC, articles)[kind]
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "Example Films"
    assert [entry.id for entry in parsed.entries] == [entry_id(item) for item in articles]
    assert [entry.title for entry in parsed.entries] == [item.title for item in articles]
    assert parsed.entries[0].published_parsed[:3] == (2024, 5, 1)
    assert parsed.entries[0].author == "Dana Whitlock"
    assert parsed.entries[1].link == "https://films.example/the-salt-road-2023-ending-explained"
    links = {(link.get("rel"), link.get("href")) for link in parsed.feed.links}
    assert ("self", SPEC.self_url(kind)) in links
    assert ("hub", "https://films.example/websub") in links


def test_json_feed_has_the_same_entries_in_the_same_order(articles: list[Article]) -> None:
    feed = json.loads(render_all(SPEC, articles)["json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://films.example/feeds/feed.json"
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://films.example/websub"}]
    assert [item["id"] for item in feed["items"]] == [entry_id(item) for item in articles]
    assert feed["items"][0]["date_modified"] == "2024-05-03T12:00:00Z"


def test_rendering_is_byte_stable_and_dated_by_the_newest_entry(
    articles: list[Article],
) -> None:
    first, second = render_all(SPEC, articles), render_all(SPEC, articles)
    assert first == second
    atom = feedparser.parse(first["atom"])
    assert atom.feed.updated_parsed[:4] == (2024, 5, 3, 12)
    rss = feedparser.parse(first["rss"])
    assert rss.feed.updated_parsed[:4] == (2024, 5, 3, 12)


def test_ids_survive_url_and_title_changes(articles: list[Article]) -> None:
    moved = msgspec.structs.replace(
        articles[0], url="https://new.example/elsewhere", title="Renamed"
    )
    assert entry_id(moved) == entry_id(articles[0])


def test_article_text_is_escaped_in_content(articles: list[Article]) -> None:
    hostile = msgspec.structs.replace(articles[0], description="<script>alert(1)</script> & co")
    atom = render_atom(SPEC, [hostile])
    assert b"<script>" not in atom
    parsed = feedparser.parse(atom)
    assert "&lt;script&gt;" in parsed.entries[0].content[0].value


def test_a_rendered_article_changed_in_any_way_is_rendered_anew(
    articles: list[Article],
) -> None:
    """Entry HTML is reused between renders: a one-character change must still show."""
    first = articles[0]
    before = render_all(SPEC, [first])
    section = first.sections[0]
    edited = msgspec.structs.replace(
        section, paragraphs=(section.paragraphs[0] + " \u2019Quoted\u2019.",
                             *section.paragraphs[1:]),
    )  # fmt: skip
    changed = msgspec.structs.replace(first, sections=(edited, *first.sections[1:]))
    after = render_all(SPEC, [changed])
    for kind in ("atom", "rss", "json"):
        assert "\u2019Quoted\u2019".encode() in after[kind], kind
        assert "\u2019Quoted\u2019".encode() not in before[kind], kind
    assert render_all(SPEC, [first]) == before


def test_an_empty_feed_is_valid_and_stable() -> None:
    documents = render_all(SPEC, [])
    assert feedparser.parse(documents["atom"]).bozo == 0
    assert feedparser.parse(documents["rss"]).bozo == 0
    assert documents == render_all(SPEC, [])


def test_rss_channel_link_is_the_site_not_the_feed(articles: list[Article]) -> None:
    parsed = feedparser.parse(render_rss(SPEC, articles))
    assert parsed.feed.link == "https://films.example/"


def dated(article: Article, day: int) -> Article:
    moment = datetime(2024, 6, day, 9, tzinfo=UTC)
    return msgspec.structs.replace(article, published=moment, updated=moment)


MARKUP_PARAGRAPH = (
    "This paragraph mentions <script>alert(1)</script> and the <video> element, "
    "and writes &amp; as text."
)


def plain_text_article() -> Article:
    body = f"Writing About HTML\n\nWhat It Says\n{MARKUP_PARAGRAPH}\n"
    return dated(parse_article(body.encode(), format="text").article, 1)


@pytest.mark.parametrize("kind", ["atom", "rss", "json"])
def test_plain_text_never_reaches_an_html_field_unescaped(kind: str) -> None:
    article = plain_text_article()
    assert article.summary == MARKUP_PARAGRAPH  # the RSS description's source
    fields = html_fields(kind, render_all(SPEC, [article])[kind])
    assert fields
    for field in fields:
        assert {tag for tag, _ in html_elements(field)} <= ALLOWED_TAGS, field
        assert all(not attributes for _, attributes in html_elements(field)), field
    assert any(MARKUP_PARAGRAPH in visible_text(field) for field in fields)


def test_the_rss_description_is_the_escaped_summary() -> None:
    document = render_rss(SPEC, [plain_text_article()])
    item = etree.fromstring(document).find("channel/item")
    assert item is not None
    assert html_elements(item.findtext("description") or "") == [("p", [])]
    assert visible_text(item.findtext("description") or "") == MARKUP_PARAGRAPH


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_an_article_with_only_a_title_has_content(kind: str) -> None:
    article = dated(parse_article(b"Only A Title\n").article, 2)
    assert not (article.description or article.sections or article.summary)
    documents = render_all(SPEC, [article])
    assert not findings(kind, documents[kind])
    assert [visible_text(field) for field in html_fields(kind, documents[kind])] == (
        ["Only A Title"] if kind == "atom" else ["Only A Title", "Only A Title"]
    )
    item = json.loads(documents["json"])["items"][0]
    assert visible_text(item["content_html"]) == item["summary"] == "Only A Title"


def markup_metadata_article() -> Article:
    document = {
        "title": "Tags & <b>markup</b> in text",
        "authors": ["Jo <script>x</script> Doe", "Ann <ann@example.org>"],
        "tags": ["a<b>c", "Tags & <b>markup</b> in text", "&amp; &copy; &#60;"],
        "sections": [{"heading": "A <heading>", "paragraphs": ["Body &lt;i&gt;."]}],
    }
    return dated(parse_article(json.dumps(document).encode(), format="json").article, 3)


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_markup_like_titles_names_and_tags_give_no_validator_warning(kind: str) -> None:
    tagged = replace(SPEC, key="tag:a-b-c", title="Example Films: a<b>c </b>")
    document = render_all(tagged, [markup_metadata_article()])[kind]
    assert [str(finding) for finding in findings(kind, document)] == []


def test_markup_like_text_stays_visible_in_every_format() -> None:
    article = markup_metadata_article()
    documents = render_all(SPEC, [article])
    atom = feedparser.parse(documents["atom"]).entries[0]
    assert atom.title_detail.type == "text/html"
    assert html.unescape(atom.title) == article.title  # type="html": exact
    assert [a.name for a in atom.authors] == [plain_text(name) for name in article.authors]
    assert [t.label for t in atom.tags] == [plain_text(tag) for tag in article.tags]
    rss = feedparser.parse(documents["rss"]).entries[0]
    assert rss.title == plain_text(article.title) == "Tags & <b>markup< /b> in text"
    assert [t.term for t in rss.tags] == [plain_text(tag) for tag in article.tags]
    assert rss.author == article.authors[-1]  # dc:creator: exact (feedparser keeps the last)
    item = json.loads(documents["json"])["items"][0]
    assert (item["title"], item["tags"]) == (article.title, list(article.tags))
    assert [a["name"] for a in item["authors"]] == list(article.authors)


def test_both_xml_formats_use_hexadecimal_references() -> None:
    for kind in ("atom", "rss"):
        document = render_all(SPEC, [markup_metadata_article()])[kind]
        assert b"&amp;" not in document and b"&lt;" not in document and b"&gt;" not in document
        assert b"&#x3C;" in document and b"&#x26;" in document
