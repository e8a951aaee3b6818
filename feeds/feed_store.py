"""The feed queries: which feeds need rendering, their entries, and their documents.

Tables (``worker/database/migrations/0001_articles.sql``): ``feeds`` (one row per feed,
with its change counters), ``feed_entries`` (live articles with their archive
ordinals), ``feed_changes`` (ordinals whose archive page must be rendered again) and
``feed_documents`` (what ``/feeds/`` serves). The commit that changes an article writes
the first three (:mod:`worker.store`); the publisher reads them and writes documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.database.connect import Database

# Any constant works: it only has to be the same for every syndicate process.
_PUBLISH_LOCK = 0x5E4D1CA8


@contextmanager
def publish_lock(db: Database) -> Iterator[bool]:
    """Try to take the one publish run's lock (a session advisory lock); yields whether
    it was taken. It is released on exit, or with the connection if the process dies."""
    with db.connection() as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_PUBLISH_LOCK,)).fetchone()
        taken = bool(row and row[0])
        try:
            yield taken
        finally:
            if taken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_PUBLISH_LOCK,))


@dataclass(frozen=True, slots=True)
class FeedState:
    name: str
    ordinals_issued: int
    pages_published: int | None


def dirty_feeds(db: Database) -> list[tuple[str, int]]:
    """(feed, change counter) of every feed changed since its last render."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT key, changes FROM feeds WHERE changes > rendered_changes ORDER BY key"
        ).fetchall()
    return [(str(key), int(changes)) for key, changes in rows]


def dirty_count(db: Database) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM feeds WHERE changes > rendered_changes").fetchone()
    return int(row[0]) if row else 0


def mark_rendered(db: Database, feed: str, changes: int) -> None:
    """The feed is rendered up to change ``changes`` (later changes keep it dirty)."""
    with db.connection() as conn:
        conn.execute(
            "UPDATE feeds SET rendered_changes = GREATEST(rendered_changes, %s) WHERE key = %s",
            (changes, feed),
        )


def feed_state(db: Database, feed: str) -> FeedState:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT name, ordinals_issued, pages_published FROM feeds WHERE key = %s", (feed,)
        ).fetchone()
    if row is None:
        return FeedState("", 0, None)
    return FeedState(str(row[0]), int(row[1]), None if row[2] is None else int(row[2]))


def current(db: Database, feed: str, limit: int, first_unarchived: int) -> list[str]:
    """Ids of the subscription document's entries, newest first: the ``limit`` newest, and
    every entry not yet on a complete archive page (ordinal >= ``first_unarchived``).

    Usually the same set; they differ when an article enters the feed late with an older
    published time (a backfill, work re-queued after an outage): it then sits on the page
    still filling, and without the second rule no document would show it (RFC 5005 wants
    the subscription document and the archives together to hold every entry).
    """
    # A UNION of two index scans: written as one scan with "ordinal >= first OR id IN
    # (the newest)", PostgreSQL read every entry of the feed (23 ms at 100,000 entries).
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT article_id FROM ("
            " (SELECT article_id, published_at FROM feed_entries"
            "  WHERE feed = %(feed)s AND ordinal >= %(first)s)"
            " UNION"
            " (SELECT article_id, published_at FROM feed_entries WHERE feed = %(feed)s"
            "  ORDER BY published_at DESC, article_id DESC LIMIT %(limit)s)"
            ") AS shown ORDER BY published_at DESC, article_id DESC",
            {"feed": feed, "first": first_unarchived, "limit": limit},
        ).fetchall()
    return [str(row[0]) for row in rows]


def page(db: Database, feed: str, first: int, last: int) -> list[str]:
    """Ids of the entries with ordinals in [first, last], newest ordinal first."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT article_id FROM feed_entries WHERE feed = %s AND ordinal BETWEEN %s AND %s "
            "ORDER BY ordinal DESC",
            (feed, first, last),
        ).fetchall()
    return [str(row[0]) for row in rows]


def changed_ordinals(db: Database, feed: str) -> list[int]:
    with db.connection() as conn:
        rows = conn.execute("SELECT ordinal FROM feed_changes WHERE feed = %s", (feed,)).fetchall()
    return [int(row[0]) for row in rows]


def record_render(db: Database, feed: str, complete_pages: int, done: list[int]) -> None:
    """Count a render, note the complete pages and forget the ordinals now rendered."""
    with db.connection() as conn, conn.transaction():
        conn.execute(
            "UPDATE feeds SET renders = renders + 1, pages_published = %s, published_at = %s "
            "WHERE key = %s",
            (complete_pages, datetime.now(UTC), feed),
        )
        if done:
            conn.execute(
                "DELETE FROM feed_changes WHERE feed = %s AND ordinal = ANY(%s)", (feed, done)
            )


def renders(db: Database) -> dict[str, int]:
    """Renders so far per feed (coalescing made visible)."""
    with db.connection() as conn:
        rows = conn.execute("SELECT key, renders FROM feeds").fetchall()
    return {str(key): int(count) for key, count in rows}


def published_feeds(db: Database) -> list[tuple[str, str]]:
    """(feed, display name) of every feed rendered at least once."""
    with db.connection() as conn:
        rows = conn.execute("SELECT key, name FROM feeds WHERE renders > 0").fetchall()
    return [(str(key), str(name)) for key, name in rows]


def read_document(
    db: Database, path: str, *, with_body: bool
) -> tuple[str, str, str, str, bytes | None] | None:
    """(etag, last modified, media type, links, gzip body or None) of a document."""
    body = "gzip" if with_body else "NULL::bytea"
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT etag, last_modified, media_type, links, {body} "  # noqa: S608 - fixed
            "FROM feed_documents WHERE path = %s",
            (path,),
        ).fetchone()
    if row is None:
        return None
    etag, last_modified, media_type, links, compressed = row
    return (
        str(etag),
        str(last_modified),
        str(media_type),
        str(links),
        (None if compressed is None else bytes(compressed)),
    )


def etags_of(db: Database, paths: list[str]) -> dict[str, str]:
    """The stored ETag of each of ``paths`` that is stored."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT path, etag FROM feed_documents WHERE path = ANY(%s)", (paths,)
        ).fetchall()
    return {str(path): str(etag) for path, etag in rows}


def document_exists(db: Database, path: str) -> bool:
    with db.connection() as conn:
        row = conn.execute("SELECT 1 FROM feed_documents WHERE path = %s", (path,)).fetchone()
    return row is not None


def store_document(
    db: Database,
    path: str,
    compressed: bytes,
    *,
    size: int,
    etag: str,
    last_modified: str,
    media_type: str,
    links: str,
) -> bool:
    """Store a document unless the stored one has the same ETag; True if it changed."""
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO feed_documents (path, gzip, size, etag, last_modified, media_type, "
            "links, published_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (path) DO UPDATE SET gzip = EXCLUDED.gzip, size = EXCLUDED.size, "
            "etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, "
            "media_type = EXCLUDED.media_type, links = EXCLUDED.links, "
            "published_at = EXCLUDED.published_at "
            "WHERE feed_documents.etag IS DISTINCT FROM EXCLUDED.etag RETURNING path",
            (path, compressed, size, etag, last_modified, media_type, links, datetime.now(UTC)),
        ).fetchone()
    return row is not None
