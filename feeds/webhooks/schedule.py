"""The delivery state machine in SQL: promotion, claims, outcomes, replay and trimming.

Functions over one connection, called by :class:`feeds.webhooks.store.WebhookStore`
(which documents a message's life). The concurrency rules:

* Promotion fills an endpoint's in-flight slots (``max_in_flight`` minus its leased
  messages) under a transaction-scoped advisory lock on the endpoint, and counts the
  slots in a statement run after the lock is taken, so two promoters never both see
  a slot free. Due messages are taken with ``FOR UPDATE SKIP LOCKED``.
* Every promotion gives the message a new token; a claim and an outcome are accepted
  only with the current token (and an outcome only for a queued message), so each
  promotion is attempted and recorded once.
* An outcome is one statement (so one transaction): the message, its attempt, the
  endpoint's health and the counters, locked in that order. Promotion waits for no row
  lock (it skips locked rows) and waits for advisory locks only in key order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.webhooks.records import OUTCOME_CODES, STATUS_CODES, Attempt, FinishKind
from worker.database.connect import Connection
from worker.database.times import ts

#: The first key of the advisory locks that let one promoter at a time fill an
#: endpoint's in-flight slots (the second is a hash of the endpoint id).
PROMOTE_LOCK = 0x5E4D1CA8
#: Rows each delivery counter is spread over.
COUNTER_SHARDS = 16

_FINISH_STATUS: dict[str, str] = {
    "delivered": "d", "retry": "s", "dead": "x", "disable": "h", "hold": "h",
}  # fmt: skip

# Endpoints with a due message, earliest first, that look like they have a free slot
# (or are disabled: their due messages are to be held), each taken only if no other
# promoter holds it; the lock is evaluated on the chosen rows only (LIMIT subquery).
_LOCK_DUE_ENDPOINTS = """
SELECT c.id FROM (
    SELECT e.id FROM webhook_endpoints e
    CROSS JOIN LATERAL (
        SELECT m.next_due FROM webhook_messages m
        WHERE m.endpoint_num = e.num AND m.status = 's'
        ORDER BY m.next_due, m.seq LIMIT 1
    ) first
    WHERE first.next_due <= %(now)s AND (NOT e.enabled OR e.max_in_flight > (
        SELECT count(*) FROM webhook_messages q
        WHERE q.endpoint_num = e.num AND q.status = 'q' AND q.lease_until > %(now)s))
    ORDER BY first.next_due, e.id
    LIMIT %(limit)s
) c
WHERE pg_try_advisory_xact_lock(%(lock)s, hashtext(c.id))
"""

# Run after the endpoints are locked, so the in-flight count is current: only this
# transaction can add to it until it commits.
_PROMOTE = """
WITH slots AS (
    SELECT e.num, e.ordering = 'fifo' AS fifo,
        CASE WHEN e.ordering = 'fifo' THEN 1 ELSE e.max_in_flight END - (
        SELECT count(*) FROM webhook_messages q
        WHERE q.endpoint_num = e.num AND q.status = 'q' AND q.lease_until > %(now)s
    ) AS free
    FROM webhook_endpoints e WHERE e.id = ANY(%(endpoints)s) AND e.enabled
), picked AS (
    SELECT due.id, due.next_due, due.seq FROM slots CROSS JOIN LATERAL (
        SELECT m.id, m.next_due, m.seq FROM webhook_messages m
        WHERE m.endpoint_num = slots.num AND m.status = 's' AND m.next_due <= %(now)s
          -- fifo: only the oldest pending message (it may be waiting for its retry)
          AND CASE WHEN slots.fifo THEN m.seq = (
                SELECT min(h.seq) FROM webhook_messages h
                WHERE h.endpoint_num = slots.num AND h.status IN ('s', 'q')) ELSE true END
        ORDER BY m.next_due, m.seq
        LIMIT greatest(slots.free, 0)
        FOR UPDATE SKIP LOCKED
    ) due
    ORDER BY due.next_due, due.seq
    LIMIT %(limit)s
)
UPDATE webhook_messages m
SET status = 'q', token = m.token + 1, lease_until = %(lease_end)s, claimed_at = NULL,
    updated_at = %(now)s
FROM picked WHERE m.id = picked.id
RETURNING m.id, m.token, picked.next_due, picked.seq
"""

# Which of some endpoints may have something to promote (their expired leases made due
# first): a due message, and a free slot or the endpoint disabled (to hold them).
_ENDPOINTS_WITH_WORK = """
WITH expired AS (
    UPDATE webhook_messages SET status = 's', lease_until = NULL, claimed_at = NULL,
        updated_at = %(now)s
    WHERE endpoint_num IN (SELECT num FROM webhook_endpoints WHERE id = ANY(%(endpoints)s))
      AND status = 'q' AND lease_until <= %(now)s
    RETURNING endpoint_num
)
SELECT e.id FROM webhook_endpoints e
WHERE e.id = ANY(%(endpoints)s)
  AND (e.num IN (SELECT endpoint_num FROM expired) OR EXISTS (
       SELECT 1 FROM webhook_messages m WHERE m.endpoint_num = e.num
       AND m.status = 's' AND m.next_due <= %(now)s))
  AND (NOT e.enabled OR e.max_in_flight > (
       SELECT count(*) FROM webhook_messages q WHERE q.endpoint_num = e.num
       AND q.status = 'q' AND q.lease_until > %(now)s))
"""

# Waits for the given endpoints' locks, in the order of the lock keys: two callers never
# wait for each other in a cycle (the promoter of all endpoints only tries).
_LOCK_ENDPOINTS = """
SELECT pg_advisory_xact_lock(%(lock)s, k.key)
FROM (SELECT DISTINCT hashtext(id) AS key FROM unnest(%(endpoints)s::text[]) AS id
      ORDER BY key) k
"""

_HOLD_DUE = """
UPDATE webhook_messages SET status = 'h', updated_at = %(now)s
WHERE id IN (
    SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.num = m.endpoint_num
    WHERE e.id = ANY(%(endpoints)s) AND NOT e.enabled
      AND m.status = 's' AND m.next_due <= %(now)s
    FOR UPDATE OF m SKIP LOCKED
)
"""

# An outcome in one statement: the message (only with the current token) and its new
# latest attempt, the one it replaces moved to the log, the endpoint's health and
# disabling, and the counters. `was` reads the endpoint under its row lock, so two
# disabling attempts at once disable it (and count) once.
FINISH = """
WITH prev AS (
    SELECT id, attempts, attempt_at, attempt_status, attempt_latency, attempt_response,
           attempt_error, attempt_outcome, attempt_reason, attempt_next_due
    FROM webhook_messages
    WHERE id = %(id)s AND token = %(token)s AND status = 'q'
    FOR UPDATE
), m AS (
    UPDATE webhook_messages m SET
        status = %(status)s,
        token = m.token + 1, lease_until = NULL, claimed_at = NULL, updated_at = %(now)s,
        next_due = CASE WHEN %(retry)s THEN %(next_due)s END,
        delivered_at = CASE WHEN %(delivered)s THEN %(now)s ELSE m.delivered_at END,
        dead_at = CASE WHEN %(dead)s THEN %(now)s ELSE m.dead_at END,
        attempts = m.attempts + %(made_count)s,
        round_attempts = m.round_attempts + %(made_count)s,
        last_status = CASE WHEN %(made)s THEN %(code)s::smallint ELSE m.last_status END,
        last_error = CASE WHEN %(made)s THEN %(error)s::text ELSE m.last_error END,
        attempt_at = CASE WHEN %(made)s THEN %(a_at)s ELSE m.attempt_at END,
        attempt_status = CASE WHEN %(made)s THEN %(a_status)s::smallint
                              ELSE m.attempt_status END,
        attempt_latency = CASE WHEN %(made)s THEN %(a_latency)s::double precision
                               ELSE m.attempt_latency END,
        attempt_response = CASE WHEN %(made)s THEN %(a_response)s::text
                                ELSE m.attempt_response END,
        attempt_error = CASE WHEN %(made)s THEN %(a_error)s::text ELSE m.attempt_error END,
        attempt_outcome = CASE WHEN %(made)s THEN %(a_outcome)s::"char"
                               ELSE m.attempt_outcome END,
        attempt_reason = CASE WHEN %(made)s THEN %(a_reason)s::text ELSE m.attempt_reason END,
        attempt_next_due = CASE WHEN %(made)s THEN %(a_next_due)s::timestamptz
                                ELSE m.attempt_next_due END
    FROM prev WHERE m.id = prev.id AND m.token = %(token)s AND m.status = 'q'
    RETURNING m.id, m.endpoint_num
), logged AS (
    INSERT INTO webhook_attempts (message_id, number, at, status, latency_ms, response, error,
                                  outcome, reason, next_due)
    SELECT prev.id, prev.attempts, prev.attempt_at, prev.attempt_status, prev.attempt_latency,
           coalesce(prev.attempt_response, ''), prev.attempt_error, CASE prev.attempt_outcome
           WHEN 'd' THEN 'delivered' WHEN 'r' THEN 'retry' WHEN 'x' THEN 'dead'
           WHEN 'o' THEN 'disable' WHEN 'h' THEN 'hold' END,
           coalesce(prev.attempt_reason, ''), prev.attempt_next_due
    FROM prev JOIN m ON m.id = prev.id WHERE %(made)s AND prev.attempt_at IS NOT NULL
), was AS (
    SELECT e.id, e.enabled FROM webhook_endpoints e
    WHERE e.num = (SELECT endpoint_num FROM m) AND (%(made)s OR %(disable)s)
    FOR UPDATE
), health AS (
    UPDATE webhook_endpoints e SET
        failing_since = CASE WHEN %(delivered)s AND %(made)s THEN NULL
                             WHEN %(failed)s THEN coalesce(e.failing_since, %(now)s)
                             ELSE e.failing_since END,
        last_success_at = CASE WHEN %(delivered)s AND %(made)s THEN %(now)s
                               ELSE e.last_success_at END,
        last_failure_at = CASE WHEN %(failed)s THEN %(now)s ELSE e.last_failure_at END,
        enabled = e.enabled AND NOT %(disable)s,
        disabled_reason = CASE WHEN %(disable)s AND was.enabled THEN %(reason)s::text
                               ELSE e.disabled_reason END,
        disabled_at = CASE WHEN %(disable)s AND was.enabled THEN %(now)s
                           ELSE e.disabled_at END
    FROM was WHERE e.id = was.id
    RETURNING was.enabled AND %(disable)s AS disabled
), counted AS (
    INSERT INTO webhook_counters (name, shard, value)
    SELECT c.name, %(shard)s, 1 FROM (
        SELECT unnest(%(counters)s::text[]) AS name FROM m
        UNION ALL
        SELECT 'endpoints_disabled' FROM health WHERE disabled AND %(count)s
    ) c
    ON CONFLICT (name, shard) DO UPDATE SET value = webhook_counters.value + EXCLUDED.value
)
SELECT (SELECT count(*) FROM m), coalesce((SELECT disabled FROM health), false)
"""

_REPLAY_ONE = """
UPDATE webhook_messages SET status = 's', round_attempts = 0, next_due = %(now)s,
    lease_until = NULL, claimed_at = NULL, updated_at = %(now)s
WHERE id = %(id)s AND (status IN ('x', 'h') OR (status = 'd' AND %(force)s))
"""

_REPLAY_MANY = """
UPDATE webhook_messages SET status = 's', round_attempts = 0, next_due = %(now)s,
    lease_until = NULL, claimed_at = NULL, updated_at = %(now)s
WHERE endpoint_num = (SELECT num FROM webhook_endpoints WHERE id = %(endpoint)s)
  AND status IN ('d', 'x', 'h') AND status = ANY(%(statuses)s::"char"[])
  AND created_at >= %(since)s
"""

# Retention walks each endpoint's finished messages oldest first (its index), a window
# of them at a time (an updated_at older than the cut-off implies a created_at older
# too), and deletes those of the window last changed before the cut-off; the window's
# last message is where the next one starts.
_TRIM_WINDOW = """
WITH window_ AS (
    SELECT m.id, m.seq, m.created_at FROM webhook_messages m
    WHERE m.endpoint_num = %(endpoint)s AND m.status IN ('d', 'x', 'h')
      AND m.created_at < %(before)s AND (m.created_at, m.seq) > (%(after_at)s, %(after_seq)s)
    ORDER BY m.created_at, m.seq
    LIMIT %(batch)s
), gone AS (
    DELETE FROM webhook_messages m USING window_ w
    WHERE m.id = w.id AND m.status IN ('d', 'x', 'h') AND m.updated_at < %(before)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), last.created_at, last.seq
FROM (SELECT created_at, seq FROM window_ ORDER BY created_at DESC, seq DESC LIMIT 1) last
"""

_TRIM_PAYLOADS = """
DELETE FROM webhook_payloads WHERE id IN (
    SELECT p.id FROM webhook_payloads p
    WHERE p.created_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM webhook_messages m WHERE m.payload_id = p.id)
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
"""


def ts_or_none(seconds: float | None) -> datetime | None:
    return None if seconds is None else ts(seconds)


def promote(
    conn: Connection,
    *,
    now: float,
    lease: float,
    limit: int,
    endpoints: Sequence[str] | None,
) -> list[tuple[str, int]]:
    """Due messages made queued with a new token and a lease: (id, token) pairs in the
    order they came due; of every endpoint, or of the given ones. See
    :meth:`WebhookStore.promote`."""
    values: dict[str, object] = {
        "now": ts(now), "lease_end": ts(now + lease), "limit": limit, "lock": PROMOTE_LOCK,
    }  # fmt: skip
    if endpoints is None:
        expire_leases(conn, now=now)
    else:
        # Most calls (after some endpoints' attempts) find nothing to do: one statement.
        values["endpoints"] = list(endpoints)
        busy = [str(row[0]) for row in conn.execute(_ENDPOINTS_WITH_WORK, values)]
        if not busy:
            return []
        values["endpoints"] = busy
    with conn.transaction():
        if endpoints is None:
            locked = [str(row[0]) for row in conn.execute(_LOCK_DUE_ENDPOINTS, values)]
            if not locked:
                return []
            values["endpoints"] = locked
        else:
            # Endpoints whose attempts just ended: wait for a promoter holding them, so
            # the slots just freed are filled now rather than at the next tick.
            conn.execute(_LOCK_ENDPOINTS, values)
        conn.execute(_HOLD_DUE, values)
        promoted = conn.execute(_PROMOTE, values).fetchall()
    promoted.sort(key=lambda row: (row[2], row[3]))
    return [(str(row[0]), int(row[1])) for row in promoted]


def expire_leases(conn: Connection, *, now: float) -> int:
    """Queued messages whose lease ran out (their task was lost) are due again."""
    return max(
        conn.execute(
            "UPDATE webhook_messages SET status = 's', lease_until = NULL, "
            "claimed_at = NULL, updated_at = %(now)s "
            "WHERE status = 'q' AND lease_until <= %(now)s",
            {"now": ts(now)},
        ).rowcount,
        0,
    )


def claim(conn: Connection, message_id: str, token: int, *, now: float, guard: float) -> bool:
    """Take the attempt of a promoted message (see :meth:`WebhookStore.claim`)."""
    row = conn.execute(
        "UPDATE webhook_messages SET claimed_at = %s WHERE id = %s AND token = %s "
        "AND status = 'q' AND (claimed_at IS NULL OR claimed_at <= %s) RETURNING 1",
        (ts(now), message_id, token, ts(now - guard)),
    ).fetchone()
    return row is not None


def finish(
    conn: Connection,
    message_id: str,
    token: int,
    kind: FinishKind,
    *,
    now: float,
    attempt: Attempt | None,
    next_due: float,
    reason: str,
    status: int | None,
) -> int:
    """Record an outcome (see :meth:`WebhookStore.finish`): 0 stale, 1 recorded, 2 the
    endpoint was disabled by it."""
    outcome = Outcome(message_id, token, kind, now, attempt, next_due, reason, status)
    row = conn.execute(FINISH, finish_values(outcome, counted=True)).fetchone()
    assert row is not None
    return finish_result(row)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The outcome of one attempt to record (``attempt`` None: no request was made)."""

    message_id: str
    token: int
    kind: FinishKind
    now: float
    attempt: Attempt | None
    next_due: float = 0.0
    reason: str = ""
    status: int | None = None

    def counters(self) -> list[str]:
        """The counters this outcome adds one to, in name order."""
        names = []
        if self.attempt is not None:
            names.append("attempts_delivered" if self.kind == "delivered" else "attempts_failed")
        if self.kind == "dead":
            names.append("dead_letters")
        return sorted(names)


def finish_values(outcome: Outcome, *, counted: bool) -> dict[str, object]:
    """The values of :data:`FINISH` for an outcome; without ``counted``, the statement
    leaves the counters to the caller."""
    attempt, kind, now = outcome.attempt, outcome.kind, outcome.now
    made = attempt is not None
    shown = attempt or Attempt(at=now, status=None, latency_ms=0.0, outcome=kind)
    return {
        "id": outcome.message_id, "token": outcome.token, "status": _FINISH_STATUS[kind],
        "now": ts(now), "retry": kind == "retry", "next_due": ts(outcome.next_due),
        "delivered": kind == "delivered", "dead": kind == "dead", "disable": kind == "disable",
        "failed": made and kind != "delivered", "made": made, "made_count": int(made),
        "code": outcome.status, "error": outcome.reason or None, "reason": outcome.reason,
        "a_at": ts(shown.at), "a_status": shown.status, "a_latency": shown.latency_ms,
        "a_response": clean(shown.response) or None, "a_error": clean(shown.error),
        "a_outcome": OUTCOME_CODES[shown.outcome], "a_reason": shown.reason or None,
        "a_next_due": ts_or_none(shown.next_due),
        "counters": outcome.counters() if counted else [], "count": counted,
        "shard": random.randrange(COUNTER_SHARDS),  # noqa: S311 - spreading writes
    }  # fmt: skip


def finish_result(row: Sequence[object]) -> int:
    """0 stale, 1 recorded, 2 recorded and the endpoint disabled by it."""
    if not row[0]:
        return 0
    return 2 if row[1] else 1


def replay(conn: Connection, message_id: str, *, now: float, force: bool) -> int:
    """-1 unknown, 0 already pending, 1 rescheduled, 2 delivered (and not forced)."""
    done = conn.execute(_REPLAY_ONE, {"id": message_id, "now": ts(now), "force": force}).rowcount
    if done:
        return 1
    row = conn.execute("SELECT status FROM webhook_messages WHERE id = %s", (message_id,))
    found = row.fetchone()
    if found is None:
        return -1
    return 2 if found[0] == "d" else 0


def replay_many(
    conn: Connection, endpoint_id: str, statuses: Sequence[str], *, since: float | None,
    now: float,
) -> int:  # fmt: skip
    """Reschedule an endpoint's messages in some statuses (created since a time). Their
    next attempts follow the order they were made in: promotion breaks ties of
    ``next_due`` by ``seq``."""
    values = {"endpoint": endpoint_id, "statuses": [STATUS_CODES[s] for s in statuses],
              "now": ts(now),
              "since": ts(since if since is not None else 0.0)}  # fmt: skip
    return max(conn.execute(_REPLAY_MANY, values).rowcount, 0)


def trim(conn: Connection, *, older_than: float, batch: int) -> int:
    """Delete finished messages (their attempts go with them) last changed before a time,
    a batch per statement, then the payloads no message uses any more."""
    values: dict[str, object] = {"before": ts(older_than), "batch": batch}
    removed = 0
    for (endpoint,) in conn.execute("SELECT num FROM webhook_endpoints ORDER BY num").fetchall():
        values |= {"endpoint": endpoint, "after_at": ts(0.0), "after_seq": 0}
        while True:
            row = conn.execute(_TRIM_WINDOW, values).fetchone()
            if row is None:  # no message left in the window
                break
            removed += int(row[0])
            values |= {"after_at": row[1], "after_seq": row[2]}
    while conn.execute(_TRIM_PAYLOADS, values).rowcount >= batch:
        pass
    return removed


def count(conn: Connection, counts: Mapping[str, int]) -> None:
    """Add to counters, on one random shard each (rows in name order: no deadlock)."""
    if not counts:
        return
    names = sorted(counts)
    shard = random.randrange(COUNTER_SHARDS)  # noqa: S311 - spreading writes, not security
    conn.execute(
        "INSERT INTO webhook_counters (name, shard, value) "
        "SELECT name, %s, value FROM unnest(%s::text[], %s::bigint[]) AS c(name, value) "
        "ON CONFLICT (name, shard) DO UPDATE SET value = webhook_counters.value + EXCLUDED.value",
        (shard, names, [counts[name] for name in names]),
    )


def clean(text: str | None) -> str | None:
    """Text PostgreSQL can store: NUL characters (a response may hold any) replaced."""
    return None if text is None else text.replace("\x00", "\ufffd")
