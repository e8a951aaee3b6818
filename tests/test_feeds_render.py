"""Feed rendering: valid, byte-stable, the same entries and ids in every format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import msgspec
import pytest

from feeds.render import FeedSpec, entry_id, render_all, render_atom, render_rss
from tests.conftest import EXAMPLES
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


def test_an_empty_feed_is_valid_and_stable() -> None:
    documents = render_all(SPEC, [])
    assert feedparser.parse(documents["atom"]).bozo == 0
    assert feedparser.parse(documents["rss"]).bozo == 0
    assert documents == render_all(SPEC, [])


def test_rss_channel_link_is_the_site_not_the_feed(articles: list[Article]) -> None:
    parsed = feedparser.parse(render_rss(SPEC, articles))
    assert parsed.feed.link == "https://films.example/"
