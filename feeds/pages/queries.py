"""Read-only queries the pages need beyond :class:`~feeds.webhooks.store.WebhookStore`:
one endpoint's messages filtered and paginated, and attempt and event counts over time.

Messages are listed newest first by their sequence number (the order they were made
in), and a page continues from the sequence number of the last one shown (keyset
pagination: a page costs the same however deep it is).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from feeds.webhooks import rows
from feeds.webhooks.records import STATUS_CODES, Message
from worker.database.connect import Database
from worker.database.times import epoch, ts

#: Attempt outcomes as the charts count them (inline attempts store a code, logged
#: attempts the name).
CHART_OUTCOMES = {
    "d": "delivered", "delivered": "delivered",
    "r": "retried", "retry": "retried",
    "x": "dead", "dead": "dead",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of messages continues: after this creation time and sequence number."""

    created_at: datetime
    seq: int

    def text(self) -> str:
        return f"{self.created_at.isoformat()}~{self.seq}"


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What a list of one endpoint's messages is narrowed to (None: no narrowing)."""

    status: str | None = None
    event_type: str | None = None
    since: float | None = None
    until: float | None = None
    before: Cursor | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[Message]
    next_before: Cursor | None  # None on the last page


#: The parts of an endpoint's messages, each read from the partial index of its states
#: (``0003_compact_messages.sql``), and the statuses each holds.
_PARTS = {
    "m.status IN ('d', 'x', 'h')": ("delivered", "dead", "held"),
    "m.status = 's'": ("scheduled",),
    "m.status = 'q'": ("queued",),
}


def endpoint_messages(
    db: Database, endpoint_id: str, wanted: MessageFilter, *, limit: int
) -> MessagePage:
    """A page of one endpoint's messages, newest first (by creation, then sequence)."""
    conditions = [sql.SQL("m.endpoint_num = e.num")]
    values: dict[str, Any] = {"endpoint": endpoint_id, "limit": limit + 1}
    if wanted.status is not None:
        conditions.append(sql.SQL("m.status = %(status)s"))
        values["status"] = STATUS_CODES[wanted.status]
    if wanted.event_type is not None:
        conditions.append(
            sql.SQL("(SELECT t.type FROM webhook_payloads t WHERE t.id = m.payload_id) = %(type)s")
        )
        values["type"] = wanted.event_type
    if wanted.since is not None:
        conditions.append(sql.SQL("m.created_at >= %(since)s"))
        values["since"] = ts(wanted.since)
    if wanted.until is not None:
        conditions.append(sql.SQL("m.created_at < %(until)s"))
        values["until"] = ts(wanted.until)
    if wanted.before is not None:
        conditions.append(sql.SQL("(m.created_at, m.seq) < (%(before_at)s, %(before_seq)s)"))
        values |= {"before_at": wanted.before.created_at, "before_seq": wanted.before.seq}
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "(SELECT m.* FROM webhook_messages m WHERE {} AND {} "
            "ORDER BY m.created_at DESC, m.seq DESC LIMIT %(limit)s)"
        ).format(sql.SQL(state), sql.SQL(" AND ").join(conditions))
        for state, statuses in _PARTS.items()
        if wanted.status is None or wanted.status in statuses
    )
    query = sql.SQL(
        "SELECT {}, m.created_at, m.seq FROM webhook_endpoints e CROSS JOIN LATERAL ({}) m "
        "JOIN webhook_payloads p ON p.id = m.payload_id WHERE e.id = %(endpoint)s "
        "ORDER BY m.created_at DESC, m.seq DESC LIMIT %(limit)s"
    ).format(sql.SQL(rows.MESSAGE_COLUMNS), parts)
    with db.connection() as conn:
        found = conn.execute(query, values).fetchall()
    shown = found[:limit]
    messages = [rows.message(row[: rows.MESSAGE_WIDTH], b"", []) for row in shown]
    last = shown[-1][rows.MESSAGE_WIDTH :] if len(found) > limit else None
    return MessagePage(messages, Cursor(last[0], int(last[1])) if last else None)


def status_counts(db: Database, endpoint_id: str) -> dict[str, int]:
    """How many of an endpoint's messages are in each status."""
    with db.connection() as conn:
        found = conn.execute(_STATUS_COUNTS, {"endpoint": endpoint_id}).fetchall()
    names = {code: name for name, code in STATUS_CODES.items()}
    return {names[str(code)]: int(count) for code, count in found if str(code) in names}


def attempt_counts(
    db: Database, *, since: float, width: float, endpoint_id: str | None = None
) -> dict[int, dict[str, int]]:
    """Attempts since ``since`` by outcome (delivered, retried, dead), in buckets of
    ``width`` seconds keyed by ``floor(time / width)``; of one endpoint or of all.

    One endpoint's messages are read through the three partial indexes that hold them
    (by state, as :func:`feeds.webhooks.rows.listing` does), not by scanning every
    endpoint's (the counts of all endpoints do scan: the dashboard's last hour)."""
    query = _ENDPOINT_ATTEMPTS if endpoint_id is not None else _ALL_ATTEMPTS
    values = {"endpoint": endpoint_id, "since": ts(since), "width": width}
    with db.connection() as conn:
        found = conn.execute(query, values).fetchall()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for bucket, outcome, count in found:
        name = CHART_OUTCOMES.get(str(outcome))
        if name is not None:
            counts[int(bucket)][name] = counts[int(bucket)].get(name, 0) + int(count)
    return dict(counts)


_BUCKETED = (
    "SELECT bucket, outcome, count(*) FROM ("
    "SELECT floor(extract(epoch FROM m.attempt_at) / %(width)s)::bigint AS bucket, "
    "m.attempt_outcome::text AS outcome FROM {messages} m WHERE m.attempt_at >= %(since)s "
    "UNION ALL "
    "SELECT floor(extract(epoch FROM a.at) / %(width)s)::bigint, a.outcome "
    "FROM webhook_attempts a JOIN {messages} m ON m.id = a.message_id "
    "WHERE m.attempts > 1 AND a.at >= %(since)s) counted GROUP BY 1, 2"
)
_STATES = ("m.status IN ('d', 'x', 'h')", "m.status = 's'", "m.status = 'q'")
_MINE = " UNION ALL ".join(
    "SELECT m.id, m.status, m.attempt_at, m.attempt_outcome, m.attempts "  # noqa: S608
    "FROM webhook_messages m "
    "WHERE m.endpoint_num = (SELECT num FROM webhook_endpoints WHERE id = %(endpoint)s) "
    "AND " + state
    for state in _STATES
)
_ALL_ATTEMPTS = _BUCKETED.format(messages="webhook_messages")
_STATUS_COUNTS = f"SELECT status::text, count(*) FROM ({_MINE}) mine GROUP BY 1"  # noqa: S608
_ENDPOINT_ATTEMPTS = f"WITH mine AS MATERIALIZED ({_MINE}) " + _BUCKETED.format(messages="mine")


def event_counts(db: Database, *, since: float, width: float) -> dict[int, dict[str, int]]:
    """Article events (what ingest stored: new, updated, withdrawn) since ``since``, in
    buckets of ``width`` seconds, by type."""
    with db.connection() as conn:
        found = conn.execute(
            "SELECT floor(extract(epoch FROM at) / %(width)s)::bigint, type, count(*) "
            "FROM events WHERE at >= %(since)s GROUP BY 1, 2",
            {"since": ts(since), "width": width},
        ).fetchall()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for bucket, event_type, count in found:
        counts[int(bucket)][str(event_type)] = int(count)
    return dict(counts)


@dataclass(frozen=True, slots=True)
class FeedState:
    key: str
    name: str
    published_at: float | None
    waiting: bool  # changed since its last render


def feed_states(db: Database, *, limit: int) -> list[FeedState]:
    """Feeds, most recently published first (never published last)."""
    with db.connection() as conn:
        found = conn.execute(
            "SELECT key, name, published_at, changes > rendered_changes FROM feeds "
            "ORDER BY published_at DESC NULLS LAST, key LIMIT %s",
            (limit,),
        ).fetchall()
    return [
        FeedState(str(key), str(name), epoch(at), bool(waiting)) for key, name, at, waiting in found
    ]
