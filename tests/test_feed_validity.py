"""Structural validity of every feed kind, per RFC 4287 and the RSS Best Practices profile.

The W3C Feed Validation Service is not installable here; these checks cover the rules
its default level applies to what syndicate emits (required elements, author, unique
alternate links, dates, absolute URLs, self links, description before
content:encoded, permanent guids), and feedparser must report no problem. The
service's rules for text and HTML are mirrored in tests/feed_rules.py: every document
here must give none of their warnings.
"""

from __future__ import annotations

import email.utils
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
import msgspec
import pytest
from lxml import etree

from feeds.render import FeedSpec, render_all
from tests.conftest import EXAMPLES
from tests.feed_rules import findings
from worker.core.model import Article
from worker.core.pipeline import parse_article

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

MAIN = FeedSpec(
    key="main", title="Films", description="Endings explained.",
    site_url="https://films.example/", folder_url="https://films.example/feeds/",
    publisher="Films", hub_url="https://films.example/websub",
)  # fmt: skip
AUTHOR = replace(
    MAIN, key="author:dana-whitlock", title="Films: Dana Whitlock",
    folder_url="https://films.example/feeds/authors/dana-whitlock/",
)  # fmt: skip
TAG = replace(MAIN, key="tag:drama", folder_url="https://films.example/feeds/tags/drama/")
ARCHIVE = replace(
    MAIN, folder_url="https://films.example/feeds/archive/1/",
    current_url="https://films.example/feeds/", prev_archive_url="https://films.example/feeds/archive/0/",
    next_archive_url="https://films.example/feeds/archive/2/",
)  # fmt: skip
SPECS = {"main": MAIN, "author": AUTHOR, "tag": TAG, "archive": ARCHIVE}


def articles() -> list[Article]:
    found = []
    for index, name in enumerate(sorted(EXAMPLES.iterdir())):
        article = parse_article(name.read_bytes()).article
        moment = datetime(2024, 1, 1 + index, 8, tzinfo=UTC)
        found.append(msgspec.structs.replace(article, published=moment, updated=moment))
    # Same times as the first article: a batch import with one date for many articles.
    bare = msgspec.structs.replace(found[0], id="no-author", authors=(), tags=(), url=None)
    return [*found, bare]


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, bytes]]:
    entries = articles()
    return {name: render_all(spec, entries) for name, spec in SPECS.items()}


def absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@pytest.mark.parametrize("name", list(SPECS))
def test_atom_follows_rfc_4287(documents: dict[str, dict[str, bytes]], name: str) -> None:
    root = etree.fromstring(documents[name]["atom"])
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{required}")) == 1, required
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    feed_has_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    links = [
        (link.get("rel", "alternate"), link.get("type"), link.get("href"))
        for link in root.findall(f"{ATOM}link")
    ]
    assert ("self", "application/atom+xml", SPECS[name].self_url("atom")) in links
    alternates = [(rel, kind) for rel, kind, _ in links if rel == "alternate"]
    assert len(alternates) == len(set(alternates))
    assert all(absolute(href or "") for _, _, href in links)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    updated = [entry.findtext(f"{ATOM}updated") for entry in entries]
    assert len(updated) == len(set(updated)), "validators warn about duplicate atom:updated"
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{required}")) == 1, required
        assert RFC3339.match(entry.findtext(f"{ATOM}updated") or "")
        assert RFC3339.match(entry.findtext(f"{ATOM}published") or "")
        assert feed_has_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        entry_links = entry.findall(f"{ATOM}link")
        # feedgen keeps only href on entry links; a link without rel is the alternate.
        assert [link.get("rel", "alternate") for link in entry_links] == ["alternate"]
        assert absolute(entry_links[0].get("href") or "")
        assert (entry.findtext(f"{ATOM}id") or "").startswith("urn:uuid:")
        assert entry.find(f"{ATOM}content").get("type") == "html"
    assert feedparser.parse(documents[name]["atom"]).bozo == 0


@pytest.mark.parametrize("name", list(SPECS))
def test_rss_follows_the_best_practices_profile(
    documents: dict[str, dict[str, bytes]], name: str
) -> None:
    root = etree.fromstring(documents[name]["rss"])
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert channel.findtext(required), required
    assert absolute(channel.findtext("link") or "")
    self_links = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [SPECS[name].self_url("rss")]
    assert email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate") or "")
    for item in channel.findall("item"):
        children = [child.tag for child in item]
        assert children.index("description") < children.index(f"{CONTENT}encoded")
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        assert absolute(item.findtext("link") or "")
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate") or "")
        assert item.find("enclosure") is None
    assert feedparser.parse(documents[name]["rss"]).bozo == 0


@pytest.mark.parametrize("kind", ["atom", "rss"])
@pytest.mark.parametrize("name", list(SPECS))
def test_no_warning_of_the_text_and_html_rules(
    documents: dict[str, dict[str, bytes]], name: str, kind: str
) -> None:
    assert [str(finding) for finding in findings(kind, documents[name][kind])] == []


@pytest.mark.parametrize("name", list(SPECS))
def test_json_feed_1_1(documents: dict[str, dict[str, bytes]], name: str) -> None:
    feed = json.loads(documents[name]["json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and absolute(feed["feed_url"]) and absolute(feed["home_page_url"])
    ids = [item["id"] for item in feed["items"]]
    assert len(ids) == len(set(ids))
    for item in feed["items"]:
        assert item["content_html"] and absolute(item["url"])
        assert RFC3339.match(item["date_published"]) and RFC3339.match(item["date_modified"])
        assert item["authors"] and all(author["name"] for author in item["authors"])


def test_archive_pages_carry_the_rfc_5005_markers(documents: dict[str, dict[str, bytes]]) -> None:
    for kind in ("atom", "rss"):
        body = documents["archive"][kind]
        assert b"<fh:archive" in body
        for rel in ("current", "prev-archive", "next-archive"):
            assert f'rel="{rel}"'.encode() in body
        assert b"<fh:archive" not in documents["main"][kind]
