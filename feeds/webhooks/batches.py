"""Claims and outcomes by the batch: one round trip to PostgreSQL for many attempts.

* :func:`take_many` claims many promoted messages in one statement (each only with its
  current token, as :func:`feeds.webhooks.schedule.claim` does one) and loads them with
  their payload and endpoint.
* :func:`finish_many` records many outcomes in one transaction, its statements sent
  together (pipeline mode). It first locks the batch's endpoints in key order, so two
  batches never wait for each other in a cycle. Deliveries (nearly every outcome) are
  recorded by one set-based statement over arrays; the other outcomes by the statement
  of one outcome each (:data:`feeds.webhooks.schedule.FINISH`). The counters are added
  once for the batch, at its end, in name order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from feeds.webhooks import rows
from feeds.webhooks.records import Endpoint, Message
from feeds.webhooks.rows import ENDPOINT_COLUMNS, MESSAGE_COLUMNS, MESSAGE_WIDTH
from feeds.webhooks.schedule import (
    FINISH,
    Outcome,
    clean,
    count,
    finish_result,
    finish_values,
)
from worker.database.connect import Connection
from worker.database.times import ts

_TAKE_MANY = (
    "WITH m AS (UPDATE webhook_messages m SET claimed_at = %(now)s "  # noqa: S608 - constants
    "FROM unnest(%(ids)s::text[], %(tokens)s::integer[]) AS k(id, token) "
    "WHERE m.id = k.id AND m.token = k.token AND m.status = 'q' "
    "AND (m.claimed_at IS NULL OR m.claimed_at <= %(stale)s) RETURNING m.*) "
    "SELECT " + MESSAGE_COLUMNS + ", p.body, " + ENDPOINT_COLUMNS + " FROM m "
    "JOIN webhook_payloads p ON p.id = m.payload_id "
    "JOIN webhook_endpoints e ON e.num = m.endpoint_num"
)


# The batch's endpoints, locked in key order before any of its messages.
_LOCK_ENDPOINTS = (
    "SELECT 1 FROM webhook_endpoints WHERE id = ANY(%s::text[]) ORDER BY num FOR NO KEY UPDATE"
)

# Deliveries, as FINISH records one with kind "delivered" and an attempt: the message
# (current token only) with its new latest attempt, the one it replaces moved to the
# log, the endpoint's health (no longer failing).
_FINISH_DELIVERED = """
WITH d AS (
    SELECT * FROM unnest(%s::text[], %s::integer[], %s::timestamptz[], %s::timestamptz[],
                         %s::smallint[], %s::double precision[], %s::text[], %s::text[])
         AS d(id, token, now, at, code, latency, response, reason)
), prev AS (
    SELECT m.id, m.attempts, m.attempt_at, m.attempt_status, m.attempt_latency,
           m.attempt_response, m.attempt_error, m.attempt_outcome, m.attempt_reason,
           m.attempt_next_due
    FROM webhook_messages m JOIN d ON m.id = d.id AND m.token = d.token
    WHERE m.status = 'q'
    ORDER BY m.id
    FOR UPDATE OF m
), m AS (
    UPDATE webhook_messages m SET
        status = 'd', token = m.token + 1, lease_until = NULL, claimed_at = NULL,
        updated_at = d.now, next_due = NULL, delivered_at = d.now,
        attempts = m.attempts + 1, round_attempts = m.round_attempts + 1,
        last_status = d.code, last_error = d.reason,
        attempt_at = d.at, attempt_status = d.code, attempt_latency = d.latency,
        attempt_response = d.response, attempt_error = NULL, attempt_outcome = 'd',
        attempt_reason = d.reason, attempt_next_due = NULL
    FROM d JOIN prev ON prev.id = d.id
    WHERE m.id = d.id AND m.token = d.token AND m.status = 'q'
    RETURNING m.id, m.endpoint_num, d.now
), logged AS (
    INSERT INTO webhook_attempts (message_id, number, at, status, latency_ms, response, error,
                                  outcome, reason, next_due)
    SELECT prev.id, prev.attempts, prev.attempt_at, prev.attempt_status, prev.attempt_latency,
           coalesce(prev.attempt_response, ''), prev.attempt_error, CASE prev.attempt_outcome
           WHEN 'd' THEN 'delivered' WHEN 'r' THEN 'retry' WHEN 'x' THEN 'dead'
           WHEN 'o' THEN 'disable' WHEN 'h' THEN 'hold' END,
           coalesce(prev.attempt_reason, ''), prev.attempt_next_due
    FROM prev JOIN m ON m.id = prev.id WHERE prev.attempt_at IS NOT NULL
), health AS (
    UPDATE webhook_endpoints e SET failing_since = NULL,
        last_success_at = greatest(e.last_success_at, h.latest)
    FROM (SELECT endpoint_num, max(now) AS latest FROM m GROUP BY endpoint_num) h
    WHERE e.num = h.endpoint_num
)
SELECT id FROM m
"""


def take_many(
    conn: Connection, pairs: Sequence[tuple[str, int]], *, now: float, guard: float
) -> list[tuple[Message, Endpoint]]:
    """Claim the attempts of promoted messages, (id, token) pairs, and load them; those
    whose claim is refused (stale token, claimed within ``guard``) are left out."""
    if not pairs:
        return []
    found = conn.execute(
        _TAKE_MANY,
        {"ids": [pair[0] for pair in pairs], "tokens": [pair[1] for pair in pairs],
         "now": ts(now), "stale": ts(now - guard)},
    ).fetchall()  # fmt: skip
    width = MESSAGE_WIDTH
    taken = {
        str(row[0]): (rows.message(row[:width], bytes(row[width]), []),
                      rows.endpoint(row[width + 1 :]))
        for row in found
    }  # fmt: skip
    return [taken[message_id] for message_id, _ in pairs if message_id in taken]


def finish_many(conn: Connection, outcomes: Sequence[tuple[Outcome, str]]) -> list[int]:
    """Record outcomes, each with its endpoint's id; for each (in the order given) 0 if
    its token was stale, 1 if recorded, 2 if recorded and it disabled the endpoint."""
    if not outcomes:
        return []
    delivered = [i for i, (o, _) in enumerate(outcomes) if o.kind == "delivered" and o.attempt]
    chosen = set(delivered)
    others = [i for i in range(len(outcomes)) if i not in chosen]
    results = [0] * len(outcomes)
    totals: Counter[str] = Counter()
    with conn.transaction():
        conn.execute(_LOCK_ENDPOINTS, (sorted({endpoint for _, endpoint in outcomes}),))
        if delivered:
            recorded = _finish_delivered(conn, [outcomes[i][0] for i in delivered])
            for index in delivered:
                results[index] = int(outcomes[index][0].message_id in recorded)
        if others:
            cursor = conn.cursor()
            cursor.executemany(
                FINISH, [finish_values(outcomes[i][0], counted=False) for i in others],
                returning=True,
            )  # fmt: skip
            for index in others:
                row = cursor.fetchone()
                assert row is not None
                results[index] = finish_result(row)
                cursor.nextset()
        for (outcome, _), result in zip(outcomes, results, strict=True):
            if result:
                totals.update(outcome.counters())
            if result == 2:
                totals["endpoints_disabled"] += 1
        count(conn, totals)
    return results


def _finish_delivered(conn: Connection, outcomes: Sequence[Outcome]) -> set[str]:
    """Record deliveries in one statement; the ids of those recorded (current token)."""
    attempts = [outcome.attempt for outcome in outcomes if outcome.attempt is not None]
    assert len(attempts) == len(outcomes)
    found = conn.execute(
        _FINISH_DELIVERED,
        ([o.message_id for o in outcomes], [o.token for o in outcomes],
         [ts(o.now) for o in outcomes], [ts(a.at) for a in attempts],
         [o.status for o in outcomes], [a.latency_ms for a in attempts],
         [clean(a.response) or None for a in attempts], [o.reason or None for o in outcomes]),
    ).fetchall()  # fmt: skip
    return {str(row[0]) for row in found}
