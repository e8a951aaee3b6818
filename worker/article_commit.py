"""Committing one processed submission: the few statements of the article transaction.

The decision is pure (:func:`worker.core.versioning.plan_commit`); this module reads the
state it needs and writes the plan, in as few round trips as the rules allow, because
they are most of ingest's cost:

1. one statement locks the submission and the article rows and reads the stored
   version (``FOR UPDATE``: two commits of one article take turns);
2. one statement records the outcome: the submission's result, the new version, the
   article's state and the event (data-modifying CTEs, each run exactly once);
3. one statement places the article in its feeds (:data:`_PLACE_IN_FEEDS`).

Statements 2 and 3 and the commit go in one pipeline: one round trip.
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.rows import TupleRow

from worker.core.model import Article
from worker.core.versioning import CommitPlan, StoredState, SubmissionRef, plan_commit
from worker.database.connect import Connection
from worker.database.times import ts


def commit_submission(
    conn: Connection, submission: SubmissionRef, article: Article | None, *, now: float
) -> tuple[CommitPlan | None, tuple[str, int, int] | None, str | None]:
    """Apply ``submission`` in one transaction on ``conn``: two round trips.

    Returns (plan, recorded, event id): ``plan`` is ``None`` when the submission was
    already committed, and ``recorded`` is then its (result, version, seq)."""
    # In a pipeline, BEGIN travels with the locking read, and the writes with COMMIT.
    with conn.pipeline(), conn.transaction():
        locked = _lock(conn, submission)
        if locked is None:
            # The article's row is missing (acceptance creates it; a store
            # restored from elsewhere may lack it): create it and lock again.
            conn.execute(
                "INSERT INTO articles (id) VALUES (%s) ON CONFLICT (id) DO NOTHING",
                (submission.article_id,),
            )
            locked = _lock(conn, submission)
            assert locked is not None, f"submission {submission.id} is not stored"
        recorded, state = locked
        if recorded is not None:
            return None, recorded, None
        plan = plan_commit(submission, article, state, now)
        event = _write(conn, submission, plan, now)
    row = event.fetchone() if event is not None else None
    return plan, None, None if row is None else str(row[0])


def _lock(
    conn: Connection, submission: SubmissionRef
) -> tuple[tuple[str, int, int] | None, StoredState] | None:
    """Lock the submission and article rows; (recorded result if already committed,
    stored state), or ``None`` when the article row is missing."""
    row = conn.execute(
        "SELECT s.status, s.result, s.version, a.seq, a.version, a.deleted, a.error, "
        "a.status, v.document FROM submissions s JOIN articles a ON a.id = %(article)s "
        "LEFT JOIN article_versions v ON v.article_id = a.id AND v.version = a.version "
        "WHERE s.id = %(id)s FOR UPDATE OF s, a",
        {"id": submission.id, "article": submission.article_id},
    ).fetchone()
    if row is None:
        return None
    status, result, recorded_version, seq, version, deleted, error, shown, document = row
    if status in ("done", "failed") and result is not None:
        return (str(result), int(recorded_version), int(seq)), {}
    state: StoredState = {
        "seq": str(seq), "version": str(version), "deleted": "1" if deleted else "0",
        "error": error or "", "status": str(shown),
    }  # fmt: skip
    if document:
        state["doc"] = str(document)
    return None, state


_RECORD_SUBMISSION = (
    "UPDATE submissions SET status = 'done', result = %(outcome)s, version = %(version)s, "
    "done_at = %(now)s WHERE id = %(submission)s"
)

# A new version: the submission's result, the version, the article row and the event,
# in one statement (each data-modifying CTE runs once, whether or not it is read).
_RECORD_VERSION = (
    "WITH done AS (UPDATE submissions SET status = 'done', result = %(outcome)s,"
    " version = %(version)s, done_at = %(now)s WHERE id = %(submission)s),"
    " version AS (INSERT INTO article_versions (article_id, version, event, content_hash,"
    " at, changed_sections, submission_id, document) VALUES (%(article)s, %(version)s,"
    " %(history_event)s, %(hash)s, %(now)s, %(changed)s, %(submission)s, %(document)s)),"
    " shown AS (UPDATE articles SET seq = %(seq)s, status = %(status)s, error = NULL,"
    " version = %(version)s, content_hash = %(hash)s, deleted = %(deleted)s,"
    " published_at = %(published)s WHERE id = %(article)s)"
    " INSERT INTO events (type, article_id, version, seq, submission_id, at,"
    " changed_sections) VALUES (%(event)s, %(article)s, %(version)s, %(submission_seq)s,"
    " %(submission)s, %(now)s, %(changed)s) RETURNING id"
)

# Enter, move or leave feeds, and mark feeds and archive pages changed, in one statement.
#
# An article's ordinal in a feed is handed out once, when it first enters the feed, and
# freed when it leaves: archive pages are ranges of ordinals, so they never shift. The
# feed rows are upserted in key order, as in every commit, so concurrent commits cannot
# deadlock on them; each feed row is changed once (the statement may not change a row
# twice), counting the change and, for a feed the article enters, issuing its ordinal.
# Reads of feed_entries see the state before the statement, which no other commit can
# change meanwhile: they would need this article's row lock.
_PLACE_IN_FEEDS = """
WITH wanted AS (
    SELECT key, coalesce(name, '') AS name, key = ANY(%(present)s) AS present,
           key = ANY(%(present)s) AND NOT EXISTS (
               SELECT 1 FROM feed_entries e WHERE e.feed = t.key AND e.article_id = %(article)s
           ) AS entering
    FROM unnest(%(keys)s::text[], %(names)s::text[]) AS t(key, name)
),
counted AS (
    INSERT INTO feeds AS f (key, name, changes, ordinals_issued)
    SELECT key, name, 1, entering::int FROM wanted ORDER BY key
    ON CONFLICT (key) DO UPDATE SET
        changes = f.changes + 1,
        ordinals_issued = f.ordinals_issued + EXCLUDED.ordinals_issued,
        name = CASE WHEN EXCLUDED.key = ANY(%(present)s) THEN EXCLUDED.name ELSE f.name END
    RETURNING key, ordinals_issued - 1 AS ordinal
),
moved AS (
    UPDATE feed_entries SET published_at = %(published)s
    WHERE article_id = %(article)s AND feed = ANY(%(present)s)
    RETURNING feed, ordinal
),
entered AS (
    INSERT INTO feed_entries (feed, article_id, ordinal, published_at)
    SELECT c.key, %(article)s, c.ordinal, %(published)s
    FROM counted c JOIN wanted w ON w.key = c.key WHERE w.entering
    RETURNING feed, ordinal
),
departed AS (
    DELETE FROM feed_entries WHERE article_id = %(article)s AND feed = ANY(%(absent)s)
    RETURNING feed, ordinal
)
INSERT INTO feed_changes (feed, ordinal)
SELECT feed, ordinal FROM moved
UNION ALL SELECT feed, ordinal FROM entered
UNION ALL SELECT feed, ordinal FROM departed
ON CONFLICT DO NOTHING
"""


def _write(
    conn: Connection, submission: SubmissionRef, plan: CommitPlan, now: float
) -> Cursor[TupleRow] | None:
    """Queue the plan's statements on the pipeline; for a new version, the cursor that
    will hold its event id."""
    base: dict[str, Any] = {
        "outcome": plan.outcome, "version": plan.version, "now": ts(now),
        "submission": submission.id, "article": submission.article_id,
        "status": plan.status, "seq": max(submission.seq, plan.stored_seq),
    }  # fmt: skip
    if plan.outcome == "superseded":
        conn.execute(_RECORD_SUBMISSION, base)
        conn.execute("UPDATE articles SET status = %(status)s WHERE id = %(article)s", base)
        return None
    if plan.outcome == "unchanged":
        conn.execute(_RECORD_SUBMISSION, base)
        conn.execute(
            "UPDATE articles SET seq = %(seq)s, status = %(status)s, error = NULL "
            "WHERE id = %(article)s",
            base,
        )
        return None
    assert plan.document is not None
    published = ts(plan.published_ts)
    event = conn.execute(
        _RECORD_VERSION,
        {**base, "history_event": plan.history_entry["event"], "hash": plan.content_hash,
         "changed": list(plan.changed), "document": plan.document, "deleted": plan.deleted,
         "published": published, "event": plan.event["type"],
         "submission_seq": submission.seq},
    )  # fmt: skip
    feeds = sorted(plan.dirty_feeds)
    conn.execute(
        _PLACE_IN_FEEDS,
        {"keys": feeds, "names": [plan.feed_names.get(feed) for feed in feeds],
         "present": [feed for feed in feeds if feed in plan.feed_names],
         "absent": [feed for feed in feeds if feed not in plan.feed_names],
         "article": submission.article_id, "published": published},
    )  # fmt: skip
    return event
