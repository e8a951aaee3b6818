"""Publishing feeds: render the dirty feeds, store each document with its validators.

The store keeps one sorted set per feed (``syn:feed:<key>``, live articles by
published time), maintained in the same transaction as each new version, so a
render reads only the newest N articles: its cost does not grow with the number of
articles stored. Ingest marks feeds dirty (``syn:feeds:dirty``); one publish task
drains the set, so a burst of changes to one feed costs one render.

Archives (RFC 5005): every article gets an ordinal when it first enters a feed;
archive page k holds ordinals [k*N, (k+1)*N) once all of them are handed out, at
``<feed folder>/archive/<k>/{atom.xml,rss.xml,feed.json}``. Pages never shift
(an article that leaves frees its slot), so a page changes only when one of its
own entries is edited or deleted. The subscription document links to the newest
page (``prev-archive``), each page to its neighbours and to ``current``.

Each document is stored in Redis (for the HTTP server) with a strong ETag (a hash of
the bytes), a gzip copy and Last-Modified (the newest entry), and written atomically
(temporary file, then rename) under ``SYNDICATE_PUBLIC_DIR`` for any static server,
only when its bytes changed.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from feeds.render import FEED_FILES, MEDIA_TYPES, FeedSpec, feed_updated, render_all
from worker.core.model import Article
from worker.store import Store, as_text_fields

log = logging.getLogger(__name__)

_DRAIN_BATCH = 100

# KEYS: dirty, rendering. ARGV: how many. Moves dirty feeds to "rendering" and returns them.
_CLAIM_DIRTY = """
local feeds = redis.call('SPOP', KEYS[1], ARGV[1])
if #feeds > 0 then redis.call('SADD', KEYS[2], unpack(feeds)) end
return feeds
"""


@dataclass(frozen=True, slots=True)
class DocumentHead:
    """What a conditional request needs to know about a stored document."""

    path: str
    etag: str
    last_modified: str
    media_type: str
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A rendered feed document as the HTTP server serves it."""

    path: str
    body: bytes
    gzip_body: bytes
    etag: str
    last_modified: str
    media_type: str


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def document_etag(body: bytes) -> str:
    """The strong ETag of a document: a hash of its bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def read_public_file(public_dir: Path, path: str) -> tuple[DocumentHead, bytes] | None:
    """A document from the public directory, for when Redis cannot be reached.

    Only feed documents (``atom.xml``, ``rss.xml``, ``feed.json``) inside the directory
    are served; Last-Modified is when the file was written (the publish time)."""
    root = (public_dir / "feeds").resolve()
    target = (root / path).resolve()
    kinds = {name: kind for kind, name in FEED_FILES.items()}
    if not target.is_relative_to(root) or target.name not in kinds or not target.is_file():
        return None
    body = target.read_bytes()
    modified = format_datetime(datetime.fromtimestamp(target.stat().st_mtime, UTC), usegmt=True)
    head = DocumentHead(path, document_etag(body), modified, MEDIA_TYPES[kinds[target.name]])
    return head, body


def feed_folder(feed: str) -> str:
    """The folder of a feed under ``/feeds/``: "", "authors/<slug>/" or "tags/<slug>/"."""
    if feed == "main":
        return ""
    kind, _, slug = feed.partition(":")
    return f"{'authors' if kind == 'author' else 'tags'}/{slug}/"


class Publisher:
    """Renders feeds from the store and keeps their documents current."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        #: Paths whose bytes changed in this publisher's renders (for WebSub pushes).
        self.changed_documents: list[str] = []
        self._claim = store.client.register_script(_CLAIM_DIRTY)

    def publish_dirty(self) -> list[str]:
        """Render each feed that was dirty when called, once; returns the feeds rendered.

        Feeds dirtied while this runs are left for the next (debounced) run: draining
        until empty would re-render busy feeds back to back under a steady stream.
        The caller holds the publish lock: a claimed feed stays in ``feeds:rendering``
        until its documents are stored, so a run that dies hands it to the next one.
        """
        keys, client = self.store.keys, self.store.client
        client.sunionstore(keys.feeds_dirty, [keys.feeds_dirty, keys.feeds_rendering])
        client.delete(keys.feeds_rendering)
        rendered: list[str] = []
        pending = int(client.scard(keys.feeds_dirty))
        while pending > 0:
            popped = self._claim(
                keys=[keys.feeds_dirty, keys.feeds_rendering], args=[min(pending, _DRAIN_BATCH)]
            )
            if not popped:
                break
            pending -= len(popped)
            for item in popped:
                feed = item.decode() if isinstance(item, bytes) else str(item)
                if self.publish_feed(feed):
                    rendered.append(feed)
                client.srem(keys.feeds_rendering, feed)
        return rendered

    def publish_feed(self, feed: str) -> bool:
        """Render one feed and its changed archive pages; False when its kind is off."""
        if not self._enabled(feed):
            return False
        spec = self._spec(feed)
        complete = self._complete_pages(feed)
        newest = self._newest(feed)
        if complete:
            spec = replace(spec, prev_archive_url=self._archive_folder(feed, complete - 1))
        self._render(feed_folder(feed), spec, newest)
        self.store.client.hincrby(self.store.keys.feed_renders, feed, 1)
        changed = self.store.client.smembers(self.store.keys.feed_changed(feed))
        for page in self._pages_to_render(feed, complete, changed):
            self._render_archive(feed, spec, page, complete)
        # Forgotten only once their page is rendered: a run that dies before this renders
        # them next time, and ordinals of the page still filling wait until it completes
        # (entries may arrive faster than runs: several pages can complete in between).
        size = self.settings.feed_entries
        done = [o for o in changed if int(float(_text(o))) // size < complete]
        if done:
            self.store.client.srem(self.store.keys.feed_changed(feed), *done)
        self.store.client.set(self.store.keys.feed_pages(feed), complete)
        return True

    def _complete_pages(self, feed: str) -> int:
        """Archive pages whose ordinal range is fully handed out (they only change on edits)."""
        count = int(self.store.client.get(self.store.keys.feed_count(feed)) or 0)
        return count // self.settings.feed_entries

    def _pages_to_render(self, feed: str, complete: int, changed: set[Any]) -> list[int]:
        """Pages holding changed entries, plus the two newest when a page was completed."""
        size = self.settings.feed_entries
        pages = {int(float(_text(ordinal))) // size for ordinal in changed}
        previous = self.store.client.get(self.store.keys.feed_pages(feed))
        if previous is None or int(previous) != complete:
            pages |= {complete - 1, complete - 2}  # a new page: its neighbour's links change
        return sorted(page for page in pages if 0 <= page < complete)

    def _render_archive(self, feed: str, spec: FeedSpec, page: int, complete: int) -> None:
        size = self.settings.feed_entries
        keys = self.store.keys
        ids = self.store.client.zrangebyscore(
            keys.feed_ordinals(feed), page * size, (page + 1) * size - 1
        )
        articles = self._articles([_text(article_id) for article_id in reversed(ids)])
        archive = replace(
            spec,
            folder_url=self._archive_folder(feed, page),
            current_url=self.settings.feeds_url + feed_folder(feed),
            prev_archive_url=self._archive_folder(feed, page - 1) if page > 0 else None,
            next_archive_url=(
                self._archive_folder(feed, page + 1) if page + 1 < complete else None
            ),
        )
        self._render(f"{feed_folder(feed)}archive/{page}/", archive, articles)

    def _archive_folder(self, feed: str, page: int) -> str:
        return f"{self.settings.feeds_url}{feed_folder(feed)}archive/{page}/"

    def _render(self, folder: str, spec: FeedSpec, articles: list[Article]) -> None:
        last_modified = format_datetime(feed_updated(articles), usegmt=True)
        for kind, body in render_all(spec, articles).items():
            links = [("self", spec.self_url(kind)), ("alternate", spec.site_url)]
            links += spec.history_links(kind)
            if spec.hub_url:
                links.append(("hub", spec.hub_url))
            link_lines = "\n".join(f"{rel} {href}" for rel, href in links)
            self._store(
                folder + FEED_FILES[kind], body, MEDIA_TYPES[kind], last_modified, link_lines
            )

    def document(self, path: str) -> StoredDocument | None:
        """A stored document by its path under ``/feeds/``."""
        data = self.store.client.hgetall(self.store.keys.feed_document(path))
        if not data:
            return None
        raw: dict[str, Any] = {_text(key): value for key, value in data.items()}
        return StoredDocument(
            path=path,
            body=bytes(raw["body"]),
            gzip_body=bytes(raw["gzip"]),
            etag=_text(raw["etag"]),
            last_modified=_text(raw["last_modified"]),
            media_type=_text(raw["media_type"]),
        )

    def head(self, path: str) -> DocumentHead | None:
        """A stored document's validators and media type, without its body."""
        found = self.read(path, body=None)
        return None if found is None else found[0]

    def read(self, path: str, *, body: str | None) -> tuple[DocumentHead, bytes] | None:
        """Validators and one body field ("body", "gzip" or None) in one atomic read."""
        fields = ["etag", "last_modified", "media_type", "links", *([body] if body else [])]
        values = self.store.client.hmget(self.store.keys.feed_document(path), fields)
        if values[0] is None:
            return None
        links = tuple(
            (rel, href)
            for line in _text(values[3] or b"").splitlines()
            for rel, _, href in [line.partition(" ")]
        )
        head = DocumentHead(path, _text(values[0]), _text(values[1]), _text(values[2]), links)
        content = values[4] if body else b""
        return head, content if isinstance(content, bytes) else str(content or "").encode()

    def catalogue(self) -> list[tuple[str, str, str]]:
        """(feed key, display name, folder) of every published feed, main first."""
        names = {
            _text(key): _text(value)
            for key, value in self.store.client.hgetall(self.store.keys.feed_names).items()
        }
        listed = [
            (feed, name or self.settings.site_title, feed_folder(feed))
            for feed, name in names.items()
            if self._enabled(feed) and self.head(feed_folder(feed) + "atom.xml") is not None
        ]
        return sorted(
            listed, key=lambda item: (item[0] != "main", item[0].split(":")[0], item[1].casefold())
        )

    def _enabled(self, feed: str) -> bool:
        if feed.startswith("author:"):
            return self.settings.author_feeds
        if feed.startswith("tag:"):
            return self.settings.tag_feeds
        return feed == "main"

    def _newest(self, feed: str) -> list[Article]:
        keys = self.store.keys
        ids = self.store.client.zrevrange(keys.feed_index(feed), 0, self.settings.feed_entries - 1)
        return self._articles([_text(article_id) for article_id in ids])

    def _articles(self, ids: list[str]) -> list[Article]:
        pipe = self.store.client.pipeline(transaction=False)
        for article_id in ids:
            pipe.hget(self.store.keys.article(article_id), "doc")
        return [Article.from_json(document) for document in pipe.execute() if document]

    def _spec(self, feed: str) -> FeedSpec:
        settings = self.settings
        name = as_text_fields(
            {"name": self.store.client.hget(self.store.keys.feed_names, feed) or b""}
        )["name"]
        title = settings.site_title if feed == "main" else f"{settings.site_title}: {name}"
        kind = "by" if feed.startswith("author:") else "tagged"
        description = (
            f"Articles from {settings.site_title}"
            if feed == "main"
            else f"Articles from {settings.site_title} {kind} {name}"
        )
        return FeedSpec(
            key=feed,
            title=title,
            description=description,
            site_url=settings.site_url + "/",
            folder_url=settings.feeds_url + feed_folder(feed),
            publisher=settings.site_title,
            hub_url=settings.hub_url,
            language=settings.core.default_language,
        )

    def _store(
        self, path: str, body: bytes, media_type: str, last_modified: str, links: str
    ) -> None:
        etag = document_etag(body)
        key = self.store.keys.feed_document(path)
        if self.store.client.hget(key, "etag") == etag.encode():
            return  # unchanged bytes: keep validators and files as they are
        self.store.client.hset(
            key,
            mapping={
                "body": body,
                "gzip": gzip.compress(body, mtime=0),
                "etag": etag,
                "last_modified": last_modified,
                "media_type": media_type,
                "links": links,
            },
        )
        self._write_file(path, body)
        self.changed_documents.append(path)
        log.info("published %s (%d bytes, etag %s)", path, len(body), etag)

    def _write_file(self, path: str, body: bytes) -> None:
        target = self.settings.public_dir / "feeds" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(body)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
