"""The article store in PostgreSQL: submissions, versioned articles, events, feeds.

Every change to an article is one transaction that first locks the article's row, so a
version, its history, its event and the feed membership are written together or not at
all, and two workers committing the same article take turns. Committing a submission
twice is a no-op the second time (the submission records its result in the same
transaction), which makes the ingest task idempotent. Submissions carry a sequence
number given at acceptance: an older submission never overwrites a newer one.

The schema is ``worker/database/migrations/0001_articles.sql``. Redis is only handed
through (``client``, ``keys``) for the coordination the tasks do: locks and debounce
flags, never records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import redis

from config.settings import Settings
from worker.article_commit import commit_submission
from worker.connection import redis_client
from worker.core.model import Article
from worker.core.versioning import (
    EVENT_TYPES,
    Outcome,
    SubmissionKind,
    SubmissionRef,
    feed_names,
    feeds_of,
)
from worker.database.connect import Database
from worker.database.times import epoch, ts
from worker.keys import Keys
from worker.store_failures import FailedSubmission, FailureRecords, RejectedInput

__all__ = [
    "EVENT_TYPES",
    "ArticleRecord",
    "CommitResult",
    "FailedSubmission",
    "RejectedInput",
    "Store",
    "Submission",
    "SubmissionKind",
    "feed_names",
    "feeds_of",
]


@dataclass(frozen=True, slots=True)
class Submission:
    """One accepted request to store or withdraw an article."""

    id: str
    kind: SubmissionKind
    article_id: str
    seq: int
    received_at: float
    raw: bytes = b""
    format: str | None = None
    content_type: str | None = None
    status: str = "queued"
    result: str | None = None
    version: int = 0
    error: str | None = None
    done_at: float | None = None

    def ref(self) -> SubmissionRef:
        return SubmissionRef(self.id, self.kind, self.article_id, self.seq, self.received_at)


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """What the store holds for one article id."""

    id: str
    version: int
    status: str
    article: Article | None
    deleted: bool = False
    error: str | None = None
    history: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """The outcome of committing a submission."""

    outcome: Outcome
    version: int
    changed_sections: tuple[str, ...] = ()
    event_id: str | None = None


_SUBMISSION_COLUMNS = (
    "id, kind, article_id, seq, received_at, raw, format, content_type, status, result, "
    "version, error, done_at"
)
# The final SELECT sees the row as it was before the CTEs changed it.
_CLAIM = (
    "WITH started AS ("  # noqa: S608 - only constants are interpolated
    " UPDATE submissions SET status = 'processing', queued_at = %(now)s"
    " WHERE id = %(id)s AND status NOT IN ('done', 'failed', 'discarded')"
    " RETURNING seq, article_id),"
    " shown AS (UPDATE articles SET status = 'processing' FROM started"
    " WHERE articles.id = started.article_id AND articles.seq <= started.seq)"
    f" SELECT {_SUBMISSION_COLUMNS}, (SELECT count(*) FROM started)"
    " FROM submissions WHERE id = %(id)s"
)


class Store(FailureRecords):
    """Articles and submissions in PostgreSQL (Redis handed through for coordination)."""

    def __init__(self, db: Database, client: redis.Redis, keys: Keys | None = None) -> None:
        self.db = db
        self.client = client
        self.keys = keys or Keys()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, wait_for_flush: bool = True, **redis_options: Any
    ) -> Store:
        database = Database.from_settings(
            settings, max_size=settings.database_pool_size, wait_for_flush=wait_for_flush
        )
        return cls(database, redis_client(settings, **redis_options))

    @classmethod
    def for_workers(cls, settings: Settings, **redis_options: Any) -> Store:
        """The store as Celery workers use it: commits do not wait for the WAL flush.

        What a worker writes is derived from committed submissions: should PostgreSQL
        crash in the fraction of a second before a commit reaches the disk, the submission
        is still unfinished (or the lost state precedes every durable one: WAL is replayed
        in order), and the outbox sweep processes it again, to the same version and the
        same webhook message ids. Acceptance (the API) always waits for the flush.
        """
        return cls.from_settings(settings, wait_for_flush=False, **redis_options)

    # -- submissions -------------------------------------------------------------

    def accept(
        self,
        *,
        kind: SubmissionKind,
        article_id: str,
        received_at: float,
        raw: bytes = b"",
        format: str | None = None,
        content_type: str | None = None,
    ) -> Submission:
        """Record a submission (raw input kept) and mark the article queued; committed
        when this returns."""
        submission_id = uuid.uuid4().hex
        with self.db.connection() as conn:  # one statement: atomic, one round trip
            row = conn.execute(
                "WITH queued AS (INSERT INTO articles (id) VALUES (%(article)s)"
                " ON CONFLICT (id) DO UPDATE SET status = 'queued')"
                " INSERT INTO submissions (id, kind, article_id, received_at, queued_at, raw,"
                " size, format, content_type) VALUES (%(id)s, %(kind)s, %(article)s,"
                " %(received)s, %(received)s, %(raw)s, %(size)s, %(format)s, %(type)s)"
                " RETURNING seq",
                {"id": submission_id, "kind": kind, "article": article_id,
                 "received": ts(received_at), "raw": raw, "size": len(raw), "format": format,
                 "type": content_type},
            ).fetchone()  # fmt: skip
        assert row is not None
        return Submission(
            id=submission_id, kind=kind, article_id=article_id, seq=int(row[0]),
            received_at=received_at, raw=raw, format=format, content_type=content_type,
        )  # fmt: skip

    def submission(self, submission_id: str) -> Submission | None:
        """Load a submission, or ``None`` if unknown."""
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE id = %s",  # noqa: S608
                (submission_id,),
            ).fetchone()
        return None if row is None else _submission(row)

    def claim(self, submission_id: str, *, now: float) -> tuple[Submission | None, bool]:
        """Load a submission and mark it as being worked on, in one statement.

        Returns (submission, claimed): ``claimed`` is False when it is already finished
        (or unknown). The article's status changes only for a submission at least as new
        as the stored version, and the stalled-submission clock restarts.
        """
        with self.db.connection() as conn:
            row = conn.execute(
                _CLAIM,
                {"now": ts(now), "id": submission_id},
            ).fetchone()
        if row is None:
            return None, False
        return _submission(row[:-1]), bool(row[-1])

    def stalled(self, *, older_than: float, now: float, limit: int = 1000) -> list[str]:
        """Submissions unfinished since before ``older_than``; their clock restarts at ``now``.

        This is the outbox sweep: a submission committed but never queued (a crash
        between the commit and the enqueue, a lost broker message) is found here.
        """
        with self.db.connection() as conn:
            rows = conn.execute(
                "UPDATE submissions SET queued_at = %s WHERE id IN ("
                " SELECT id FROM submissions WHERE status IN ('queued', 'processing')"
                " AND queued_at < %s ORDER BY queued_at LIMIT %s FOR UPDATE SKIP LOCKED"
                ") RETURNING id",
                (ts(now), ts(older_than), limit),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def forget_raw_inputs(self, *, older_than: float, batch: int = 500) -> int:
        """Drop the raw input of submissions finished (or discarded) before ``older_than``,
        in batches (short transactions, no long locks); returns how many were dropped.
        Failed submissions keep theirs until retried or discarded."""
        forgotten = 0
        for status, column in (("done", "done_at"), ("discarded", "discarded_at")):
            while True:
                with self.db.connection() as conn:
                    cursor = conn.execute(
                        "UPDATE submissions SET raw = NULL WHERE id IN ("  # noqa: S608 - fixed
                        f" SELECT id FROM submissions WHERE raw IS NOT NULL AND status = %s"
                        f" AND {column} < %s LIMIT %s FOR UPDATE SKIP LOCKED)",
                        (status, ts(older_than), batch),
                    )
                forgotten += cursor.rowcount
                if cursor.rowcount < batch:
                    break
        return forgotten

    def unfinished(self) -> int:
        """How many submissions are queued or being processed."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM submissions WHERE status IN ('queued', 'processing')"
            ).fetchone()
        return int(row[0]) if row else 0

    def database_info(self) -> dict[str, Any]:
        """Server version, database size and whether every migration is applied."""
        from worker.database.migrate import migrations  # noqa: PLC0415 - reads files

        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT current_setting('server_version'), "
                "pg_size_pretty(pg_database_size(current_database())), "
                "(SELECT count(*) FROM schema_migrations)"
            ).fetchone()
        assert row is not None
        version, size, applied = row
        return {"version": version, "size": size, "schema_current": applied == len(migrations())}

    def counts(self) -> dict[str, Any]:
        """The record's sizes for status and metrics, in one round trip."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT"
                " (SELECT count(*) FROM articles WHERE version > 0 AND NOT deleted),"
                " (SELECT count(*) FROM submissions WHERE status IN ('queued', 'processing')),"
                " (SELECT count(*) FROM submissions WHERE status = 'failed'),"
                " (SELECT count(*) FROM feeds),"
                " (SELECT count(*) FROM feed_entries WHERE feed = 'main'),"
                " (SELECT last_modified FROM feed_documents WHERE path = 'atom.xml'),"
                " (SELECT count(*) FROM feeds WHERE changes > rendered_changes),"
                " (SELECT count(*) FROM websub_subscriptions WHERE expires_at > now())"
            ).fetchone()
        assert row is not None
        names = ("stored", "pending", "failed", "feeds", "main_entries", "main_last_modified",
                 "dirty", "websub_subscribers")  # fmt: skip
        return dict(zip(names, row, strict=True))

    # -- articles ----------------------------------------------------------------

    def article(self, article_id: str) -> ArticleRecord | None:
        """The stored state of an article, with its version history."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT a.version, a.status, a.deleted, a.error, v.document FROM articles a "
                "LEFT JOIN article_versions v ON v.article_id = a.id AND v.version = a.version "
                "WHERE a.id = %s",
                (article_id,),
            ).fetchone()
            if row is None:
                return None
            history = conn.execute(
                "SELECT version, event, content_hash, at, changed_sections, submission_id "
                "FROM article_versions WHERE article_id = %s ORDER BY version",
                (article_id,),
            ).fetchall()
        version, status, deleted, error, document = row
        return ArticleRecord(
            id=article_id,
            version=int(version),
            status=str(status),
            article=Article.from_json(document) if document else None,
            deleted=bool(deleted),
            error=error or None,
            history=[_history_entry(entry) for entry in history],
        )

    def article_version(self, article_id: str, version: int) -> Article | None:
        """One stored version of an article."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT document FROM article_versions WHERE article_id = %s AND version = %s",
                (article_id, version),
            ).fetchone()
        return Article.from_json(row[0]) if row else None

    def current_articles(self, article_ids: list[str]) -> list[Article]:
        """The current documents of live articles, in the order of ``article_ids``."""
        if not article_ids:
            return []
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT a.id, v.document FROM articles a JOIN article_versions v "
                "ON v.article_id = a.id AND v.version = a.version "
                "WHERE a.id = ANY(%s) AND NOT a.deleted",
                (article_ids,),
            ).fetchall()
        found = {str(article_id): str(document) for article_id, document in rows}
        return [Article.from_json(found[i]) for i in article_ids if i in found]

    def fail(self, submission: Submission, error: str, *, now: float | None = None) -> bool:
        """Record that a submission could not be processed; its raw input is kept.

        A submission already committed (or discarded) stays so (False is returned), and
        the article shows the failure only if no newer submission has been stored. The
        submission enters the failures view, newest first.
        """
        failed_at = ts(datetime.now(UTC).timestamp() if now is None else now)
        with self.db.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE submissions SET status = 'failed', result = 'failed', error = %s, "
                "failed_at = %s, failures = failures + 1 WHERE id = %s "
                "AND status NOT IN ('done', 'discarded') RETURNING seq",
                (error, failed_at, submission.id),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE articles SET status = 'failed', error = %s WHERE id = %s AND seq <= %s",
                (error, submission.article_id, row[0]),
            )
        return True

    # -- committing ----------------------------------------------------------------

    def commit(
        self, submission: Submission, article: Article | None, *, now: float
    ) -> CommitResult:
        """Apply a processed submission atomically; idempotent per submission."""
        with self.db.connection() as conn:
            plan, recorded, event_id = commit_submission(conn, submission.ref(), article, now=now)
        if plan is None:
            assert recorded is not None
            return CommitResult(cast("Outcome", recorded[0]), recorded[1])
        return CommitResult(plan.outcome, plan.version, plan.changed, event_id)


def _submission(row: tuple[Any, ...]) -> Submission:
    (submission_id, kind, article_id, seq, received_at, raw, format_, content_type, status,
     result, version, error, done_at) = row  # fmt: skip
    return Submission(
        id=submission_id,
        kind="delete" if kind == "delete" else "upsert",
        article_id=article_id,
        seq=int(seq),
        received_at=received_at.timestamp(),
        raw=bytes(raw or b""),
        format=format_,
        content_type=content_type,
        status=status,
        result=result,
        version=int(version),
        error=error,
        done_at=epoch(done_at),
    )


def _history_entry(row: tuple[Any, ...]) -> dict[str, object]:
    version, event, content_hash, when, changed, submission_id = row
    return {
        "version": int(version),
        "event": event,
        "content_hash": content_hash,
        "at": when.astimezone(UTC).isoformat(),
        "changed_sections": list(changed),
        "submission": submission_id,
    }
