"""RFC 5005 archives: a reader can walk the whole history; pages never shift."""

from __future__ import annotations

import time
import uuid

import feedparser

from config.settings import Settings
from feeds.publish import Publisher
from tests.integration.conftest import RedisService, service_env
from worker.core.options import DEFAULT_OPTIONS
from worker.ingest import process_submission
from worker.store import Store


def ingest(store: Store, title: str, tag: str, *, delete: bool = False) -> str:
    article_id = title.lower().replace(" ", "-")
    body = f"{title}\nA description.\nTags: {tag}\nPart\nA paragraph about {title}.\n".encode()
    submission = store.accept(
        kind="delete" if delete else "upsert",
        article_id=article_id,
        received_at=time.time(),
        raw=b"" if delete else body,
        format="text",
    )
    process_submission(store, submission.id, DEFAULT_OPTIONS, now=time.time())
    return article_id


def walk(publisher: Publisher, path: str) -> list[list[str]]:
    """Titles of the subscription document, then of each archive page going back."""
    pages = []
    while path:
        document = publisher.document(path)
        assert document is not None, path
        parsed = feedparser.parse(document.body)
        assert parsed.bozo == 0
        pages.append([entry.title for entry in parsed.entries])
        older = [link.href for link in parsed.feed.links if link.rel == "prev-archive"]
        path = older[0].split("/feeds/", 1)[1] if older else ""
    return pages


def test_walking_the_archives_yields_every_entry(redis_service: RedisService, store: Store) -> None:
    settings = Settings.from_env(service_env(redis_service, SYNDICATE_FEED_ENTRIES="3"))
    publisher = Publisher(store, settings)
    tag = f"walk-{uuid.uuid4().hex[:8]}"
    titles = [f"Chapter {index} {tag}" for index in range(8)]
    ids = [ingest(store, title, tag) for title in titles]
    publisher.publish_dirty()

    pages = walk(publisher, f"tags/{tag}/atom.xml")
    assert len(pages) == 3
    assert pages[0] == titles[:4:-1]  # the newest three
    assert pages[1] == titles[5:2:-1]  # archive page 1: ordinals 3-5
    assert pages[2] == titles[2::-1]  # archive page 0: ordinals 0-2
    first_page = publisher.document(f"tags/{tag}/archive/0/atom.xml")
    assert first_page is not None
    parsed = feedparser.parse(first_page.body)
    rels = {link.rel for link in parsed.feed.links}
    assert {"self", "current", "next-archive"} <= rels
    assert b"<fh:archive" in first_page.body

    etags = {path: publisher.document(path) for path in (f"tags/{tag}/archive/1/rss.xml",)}
    ingest(store, titles[1], tag, delete=True)
    publisher.publish_dirty()
    pages = walk(publisher, f"tags/{tag}/rss.xml")
    assert pages[2] == [titles[2], titles[0]]  # the deleted entry left its page
    assert pages[1] == titles[5:2:-1]  # the other pages did not shift
    unchanged = publisher.document(f"tags/{tag}/archive/1/rss.xml")
    assert unchanged is not None
    assert unchanged.etag == etags[f"tags/{tag}/archive/1/rss.xml"].etag  # type: ignore[union-attr]
    assert ids[1] not in (publisher.document(f"tags/{tag}/feed.json") or first_page).body.decode()


def test_feed_kinds_can_be_switched_off(redis_service: RedisService, store: Store) -> None:
    settings = Settings.from_env(
        service_env(redis_service, SYNDICATE_FEED_AUTHORS="false", SYNDICATE_FEED_TAGS="off")
    )
    publisher = Publisher(store, settings)
    tag = f"off-{uuid.uuid4().hex[:8]}"
    ingest(store, f"Quiet Article {tag}", tag)
    publisher.publish_dirty()
    assert publisher.document("atom.xml") is not None
    assert publisher.document(f"tags/{tag}/atom.xml") is None
