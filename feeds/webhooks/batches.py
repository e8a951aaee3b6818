"""Claims and outcomes by the batch: one round trip to PostgreSQL for many attempts.

* :func:`take_many` claims many promoted messages in one statement (each only with its
  current token, as :func:`feeds.webhooks.schedule.claim` does one) and loads them with
  their payload and endpoint.
* :func:`finish_many` records many outcomes in one transaction, the statements sent
  together (pipeline mode). They run in endpoint order, so that two batches lock
  endpoint rows in the same order and never wait for each other in a cycle; the
  counters are added once for the batch, at its end, in name order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from feeds.webhooks import rows
from feeds.webhooks.records import Endpoint, Message
from feeds.webhooks.rows import ENDPOINT_COLUMNS, MESSAGE_COLUMNS, MESSAGE_WIDTH
from feeds.webhooks.schedule import FINISH, Outcome, count, finish_result, finish_values
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
    order = sorted(range(len(outcomes)), key=lambda index: outcomes[index][1])
    results = [0] * len(outcomes)
    totals: Counter[str] = Counter()
    with conn.transaction():
        cursor = conn.cursor()
        cursor.executemany(
            FINISH,
            [finish_values(outcomes[index][0], counted=False) for index in order],
            returning=True,
        )
        for index in order:
            row = cursor.fetchone()
            assert row is not None
            results[index] = finish_result(row)
            cursor.nextset()
            if results[index]:
                totals.update(outcomes[index][0].counters())
            if results[index] == 2:
                totals["endpoints_disabled"] += 1
        count(conn, totals)
    return results
