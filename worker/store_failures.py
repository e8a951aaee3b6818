"""Submissions that failed and inputs that were refused: the failures view's queries.

A part of :class:`worker.store.Store` (which inherits it), in a module of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from worker.database.connect import Database
from worker.database.times import epoch, ts


@dataclass(frozen=True, slots=True)
class FailedSubmission:
    """A submission that could not be processed, as the failures view shows it.

    ``failures`` counts the attempts that failed, ``retries`` the operator retries;
    ``raw`` is loaded only for one submission (:meth:`Store.failed_submission`).
    """

    id: str
    article_id: str
    kind: str
    status: str
    error: str | None
    received_at: float
    failed_at: float | None
    size: int
    format: str | None
    content_type: str | None
    failures: int = 0
    retries: int = 0
    discarded_at: float | None = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class RejectedInput:
    """Input the API refused before it became a submission."""

    entry_id: str
    at: float
    error: str
    content_type: str | None
    size: int
    raw: bytes


_FAILURE_COLUMNS = (
    "id, article_id, kind, status, error, received_at, failed_at, size, format, "
    "content_type, failures, retries, discarded_at"
)


class FailureRecords:
    """The failures view: failed submissions (retry, discard) and refused inputs."""

    db: Database

    def record_rejected(
        self, *, raw: bytes, error: str, content_type: str | None, at: float
    ) -> str:
        """Keep refused input with its error for inspection; returns the entry id."""
        with self.db.connection() as conn:
            row = conn.execute(
                "INSERT INTO rejected_inputs (at, error, content_type, raw) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (ts(at), error, content_type, raw),
            ).fetchone()
        assert row is not None
        return str(row[0])

    def failures(self, limit: int = 50, since: float | None = None) -> list[FailedSubmission]:
        """Failed submissions, newest failure first (``since``: failed at or after)."""
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_FAILURE_COLUMNS} FROM submissions WHERE status = 'failed' "  # noqa: S608
                "AND failed_at >= %s ORDER BY failed_at DESC LIMIT %s",
                (ts(since or 0.0), limit),
            ).fetchall()
        return [_failed_submission(row) for row in rows]

    def failed_submission(self, submission_id: str) -> FailedSubmission | None:
        """One submission with its failure details and raw input (any status)."""
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_FAILURE_COLUMNS}, raw FROM submissions WHERE id = %s",  # noqa: S608
                (submission_id,),
            ).fetchone()
        if row is None:
            return None
        return replace(_failed_submission(row[:-1]), raw=bytes(row[-1] or b""))

    def retry_failure(self, submission_id: str, *, now: float) -> bool:
        """Put a failed submission back in the queue's hands; False if it is not failed.

        Atomically: status ``queued`` (error and result cleared), its outbox clock
        restarted (so the stalled sweep re-sends it if the caller's enqueue is lost), out
        of the failures view. The caller enqueues ``syndicate.ingest`` with the id.
        """
        with self.db.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE submissions SET status = 'queued', retried_at = %s, queued_at = %s, "
                "result = NULL, error = NULL, done_at = NULL, retries = retries + 1 "
                "WHERE id = %s AND status = 'failed' RETURNING seq, article_id",
                (ts(now), ts(now), submission_id),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE articles SET status = 'queued', error = NULL "
                "WHERE id = %s AND seq <= %s AND status = 'failed'",
                (row[1], row[0]),
            )
        return True

    def discard_failure(self, submission_id: str, *, now: float) -> bool:
        """Drop a failed submission from the failures view; False if it is not failed.

        The submission is kept, marked ``discarded`` (raw input and error stay for
        audit); a discarded submission is never processed again.
        """
        with self.db.connection() as conn:
            row = conn.execute(
                "UPDATE submissions SET status = 'discarded', discarded_at = %s "
                "WHERE id = %s AND status = 'failed' RETURNING id",
                (ts(now), submission_id),
            ).fetchone()
        return row is not None

    def rejected_inputs(self, limit: int = 50, since: float | None = None) -> list[RejectedInput]:
        """Inputs the API refused, newest first (``since``: refused at or after)."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT id, at, error, content_type, raw FROM rejected_inputs "
                "WHERE at >= %s ORDER BY at DESC, id DESC LIMIT %s",
                (ts(since or 0.0), limit),
            ).fetchall()
        return [_rejected(row) for row in rows]

    def rejected_input(self, entry_id: str) -> RejectedInput | None:
        """One refused input by its id."""
        if not entry_id.isdigit() or len(entry_id) > 18:
            return None
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT id, at, error, content_type, raw FROM rejected_inputs WHERE id = %s",
                (int(entry_id),),
            ).fetchone()
        return None if row is None else _rejected(row)

    def discard_rejected(self, entry_id: str) -> bool:
        """Forget one refused input; False if there is no such entry."""
        if not entry_id.isdigit() or len(entry_id) > 18:
            return False
        with self.db.connection() as conn:
            cursor = conn.execute("DELETE FROM rejected_inputs WHERE id = %s", (int(entry_id),))
        return cursor.rowcount > 0


def _failed_submission(row: tuple[Any, ...]) -> FailedSubmission:
    (submission_id, article_id, kind, status, error, received_at, failed_at, size, format_,
     content_type, failures, retries, discarded_at) = row  # fmt: skip
    return FailedSubmission(
        id=submission_id,
        article_id=article_id,
        kind=kind,
        status=status,
        error=error,
        received_at=received_at.timestamp(),
        failed_at=epoch(failed_at),
        size=int(size),
        format=format_,
        content_type=content_type,
        failures=int(failures),
        retries=int(retries),
        discarded_at=epoch(discarded_at),
    )


def _rejected(row: tuple[Any, ...]) -> RejectedInput:
    entry_id, when, error, content_type, raw = row
    raw = bytes(raw)
    return RejectedInput(str(entry_id), when.timestamp(), error, content_type, len(raw), raw)
