"""Webhook endpoints, messages, the retry schedule and the attempt log, in PostgreSQL.

The schema is ``worker/database/migrations/0002_webhooks.sql`` as compacted by
``0003_compact_messages.sql``. A message is one event
for one endpoint; its payload is stored once per event (``webhook_payloads``). Its life:

    scheduled --promote--> queued --attempt--> delivered
        ^                    |  \\------------> dead      (schedule exhausted)
        |-------retry--------'   \\-----------> held      (endpoint disabled)
    replay / recover / enable <---------------- dead, held, delivered

* The schedule is ``next_due`` of the scheduled messages (a partial index per endpoint).
  Promotion takes due messages of endpoints with a free in-flight slot, gives each a
  new *token* and a lease (``lease_until``): a message whose task is lost comes due
  again when the lease ends. The deliver task carries the token; an attempt is claimed
  and finished only with the current token, so a message is sent once per promotion
  however many workers, beats or duplicate task messages there are.
* The per-endpoint cap is the count of leased messages, checked by one promoter at a
  time per endpoint (a transaction-scoped advisory lock), so it holds across
  processes and hosts. Due messages are taken with ``FOR UPDATE SKIP LOCKED``.
* The latest attempt is on the message row; when another is recorded, it moves to
  ``webhook_attempts`` in the same statement, so a message delivered at its first try
  is one row. Finished messages and their attempts are trimmed in small batches after
  the retention period.

Redis holds nothing of this: with Redis wiped, the beat's next tick finds every due
message here (leased ones once their lease ends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from feeds.webhooks import batches, rows, schedule
from feeds.webhooks.figures import StoreFigures
from feeds.webhooks.records import (
    PENDING_STATUSES,
    RESPONSE_KEEP_BYTES,
    Attempt,
    Endpoint,
    FinishKind,
    Listener,
    Message,
    MessageStatus,
    NewMessage,
    Secret,
    event_message_id,
    new_endpoint_id,
    new_message_id,
)
from feeds.webhooks.rows import ENDPOINT_COLUMNS, ENDPOINT_SELECT, MESSAGE_COLUMNS, MESSAGE_WIDTH
from feeds.webhooks.schedule import Outcome, ts_or_none
from worker.database.connect import Connection, Database
from worker.database.times import ts

__all__ = [
    "PENDING_STATUSES",
    "RESPONSE_KEEP_BYTES",
    "Attempt",
    "Endpoint",
    "FinishKind",
    "Listener",
    "Message",
    "MessageStatus",
    "NewMessage",
    "Secret",
    "WebhookStore",
    "event_message_id",
    "new_endpoint_id",
    "new_message_id",
]

#: Messages made at one moment are spaced this far apart, so that their first
#: attempts follow the order of the events.
_SPACING = 1e-5

# Fields of an endpoint a caller may change with update_endpoint, and how to store them.
_ENDPOINT_FIELDS: dict[str, Callable[[Any], object]] = {
    "url": str, "events": list, "authors": list, "tags": list, "description": str,
    "max_in_flight": int, "enabled": bool, "updated_at": ts,
    "rate_limit": lambda value: value or None, "ordering": str,
}  # fmt: skip

# A claim (see WebhookStore.claim) that returns the message, its payload and endpoint.
_TAKE = (
    "WITH m AS (UPDATE webhook_messages SET claimed_at = %(now)s "  # noqa: S608 - constants
    "WHERE id = %(id)s AND token = %(token)s AND status = 'q' "
    "AND (claimed_at IS NULL OR claimed_at <= %(stale)s) RETURNING *) "
    "SELECT " + MESSAGE_COLUMNS + ", p.body, " + ENDPOINT_COLUMNS + " FROM m "
    "JOIN webhook_payloads p ON p.id = m.payload_id "
    "JOIN webhook_endpoints e ON e.num = m.endpoint_num"
)

_INSERT_MESSAGES = """
INSERT INTO webhook_messages (id, endpoint_num, payload_id, status, next_due, created_at,
                              updated_at)
SELECT n.id, e.num, n.payload_id, CASE WHEN e.enabled THEN 's' ELSE 'h' END, n.at, n.at, n.at
FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::timestamptz[]) WITH ORDINALITY
     AS n(id, endpoint_id, payload_id, at, ord)
JOIN webhook_endpoints e ON e.id = n.endpoint_id
ORDER BY n.ord
ON CONFLICT DO NOTHING
"""

_MESSAGE_FROM = (
    "FROM webhook_messages m JOIN webhook_endpoints e ON e.num = m.endpoint_num "
    "JOIN webhook_payloads p ON p.id = m.payload_id "
)

_INSERT_EVENT_PAYLOADS = """
INSERT INTO webhook_payloads (type, article_id, version, body, created_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::integer[], %s::bytea[], %s::timestamptz[])
ON CONFLICT (article_id, version, type) WHERE article_id IS NOT NULL DO NOTHING
RETURNING id, article_id, version, type
"""


class WebhookStore(StoreFigures):
    """Endpoints and messages in PostgreSQL (tables in ``0002_webhooks.sql``, compacted
    by ``0003_compact_messages.sql``).

    Methods that take ``conn`` run on that connection (inside the caller's
    transaction) when it is given, and on a pooled one otherwise.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # Endpoints

    def save_endpoint(self, endpoint: Endpoint) -> None:
        """Create or replace an endpoint (its delivery state and secrets included)."""
        with self.db.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO webhook_endpoints (id, url, events, authors, tags, description, "
                "enabled, disabled_reason, disabled_at, created_at, updated_at, max_in_flight, "
                "failing_since, last_success_at, last_failure_at, rate_limit, ordering) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, events = EXCLUDED.events, "
                "authors = EXCLUDED.authors, tags = EXCLUDED.tags, "
                "description = EXCLUDED.description, enabled = EXCLUDED.enabled, "
                "disabled_reason = EXCLUDED.disabled_reason, disabled_at = EXCLUDED.disabled_at, "
                "created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, "
                "max_in_flight = EXCLUDED.max_in_flight, failing_since = EXCLUDED.failing_since, "
                "last_success_at = EXCLUDED.last_success_at, "
                "last_failure_at = EXCLUDED.last_failure_at, rate_limit = EXCLUDED.rate_limit, "
                "ordering = EXCLUDED.ordering",
                (endpoint.id, endpoint.url, list(endpoint.events), list(endpoint.authors),
                 list(endpoint.tags), endpoint.description, endpoint.enabled,
                 endpoint.disabled_reason, ts_or_none(endpoint.disabled_at),
                 ts(endpoint.created_at), ts(endpoint.updated_at), endpoint.max_in_flight,
                 ts_or_none(endpoint.failing_since), ts_or_none(endpoint.last_success_at),
                 ts_or_none(endpoint.last_failure_at), endpoint.rate_limit, endpoint.ordering),
            )  # fmt: skip
            _write_secrets(conn, endpoint.id, endpoint.secrets)

    def update_endpoint(self, endpoint_id: str, changes: Mapping[str, Any]) -> None:
        """Write some fields of an endpoint, leaving its delivery state alone."""
        unknown = sorted(set(changes) - set(_ENDPOINT_FIELDS))
        if unknown:
            raise ValueError(f"not an endpoint field one may change: {', '.join(unknown)}")
        if not changes:
            return
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
            for name in changes
        )
        values = {name: _ENDPOINT_FIELDS[name](value) for name, value in changes.items()}
        query = sql.SQL("UPDATE webhook_endpoints SET {} WHERE id = {}").format(
            assignments, sql.Placeholder("endpoint_id__")
        )
        with self.db.connection() as conn:
            conn.execute(query, values | {"endpoint_id__": endpoint_id})

    def set_secrets(self, endpoint_id: str, secrets_: Sequence[Secret]) -> None:
        """Replace an endpoint's secrets (newest first)."""
        with self.db.connection() as conn, conn.transaction():
            found = conn.execute(
                "SELECT 1 FROM webhook_endpoints WHERE id = %s FOR UPDATE", (endpoint_id,)
            ).fetchone()
            if found is not None:
                _write_secrets(conn, endpoint_id, secrets_)

    def endpoint(self, endpoint_id: str, *, conn: Connection | None = None) -> Endpoint | None:
        with self._connection(conn) as c:
            row = c.execute(ENDPOINT_SELECT + "WHERE e.id = %s", (endpoint_id,)).fetchone()
        return None if row is None else rows.endpoint(row)

    def endpoint_ids(self) -> list[str]:
        with self.db.connection() as conn:
            found = conn.execute("SELECT id FROM webhook_endpoints ORDER BY created_at, id")
            return [str(row[0]) for row in found]

    def endpoints(self, *, conn: Connection | None = None) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        with self._connection(conn) as c:
            found = c.execute(ENDPOINT_SELECT + "ORDER BY e.created_at, e.id").fetchall()
        return [rows.endpoint(row) for row in found]

    def listeners(self, *, conn: Connection | None = None) -> list[Listener]:
        """Every endpoint as a dispatch sees it (no secrets: one cheap row each), oldest
        first."""
        with self._connection(conn) as c:
            found = c.execute(
                "SELECT id, created_at, events, authors, tags FROM webhook_endpoints "
                "ORDER BY created_at, id"
            ).fetchall()
        return [
            Listener(str(i), created.timestamp(), tuple(events), tuple(authors), tuple(tags))
            for i, created, events, authors, tags in found
        ]

    def has_endpoints(self) -> bool:
        with self.db.connection() as conn:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM webhook_endpoints)").fetchone()
        return bool(row and row[0])

    def delete_endpoint(self, endpoint_id: str, *, batch: int = 1000) -> bool:
        """Remove an endpoint with its messages and their attempt log (messages first, in
        batches, so no transaction holds many rows)."""
        with self.db.connection() as conn:
            # One state at a time, each found through an index that holds it.
            for state in ("status IN ('d', 'x', 'h')", "status = 's'", "status = 'q'"):
                query = (
                    "DELETE FROM webhook_messages WHERE id IN (SELECT m.id "  # noqa: S608
                    "FROM webhook_messages m JOIN webhook_endpoints e ON e.num = m.endpoint_num "
                    f"WHERE e.id = %s AND m.{state} LIMIT %s)"
                )
                while conn.execute(query, (endpoint_id, batch)).rowcount >= batch:
                    pass
            gone = conn.execute(
                "DELETE FROM webhook_endpoints WHERE id = %s RETURNING id", (endpoint_id,)
            ).fetchone()
        return gone is not None

    def set_enabled(self, endpoint_id: str, enabled: bool, *, now: float, reason: str = "") -> int:
        """Enable or disable an endpoint; enabling reschedules the messages held meanwhile.

        Returns the number of held messages rescheduled."""
        with self.db.connection() as conn, conn.transaction():
            if not enabled:
                conn.execute(
                    "UPDATE webhook_endpoints SET enabled = false, disabled_reason = %s, "
                    "disabled_at = %s WHERE id = %s",
                    (reason, ts(now), endpoint_id),
                )
                return 0
            conn.execute(
                "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, "
                "disabled_at = NULL, failing_since = NULL WHERE id = %s",
                (endpoint_id,),
            )
            return schedule.replay_many(conn, endpoint_id, ("held",), since=None, now=now)

    # Messages

    def create_messages(
        self,
        messages: Iterable[NewMessage],
        *,
        now: float,
        conn: Connection | None = None,
        position: int = 0,
    ) -> int:
        """Create messages (idempotent per id) in one multi-row insert; those of disabled
        endpoints are held, those of unknown endpoints are not made. Returns how many
        were made. The payload of an article event is stored once for all its messages.
        ``position``: how many messages of the same dispatch (and ``now``) came before.
        """
        batch = list(messages)
        if not batch:
            return 0
        with self._connection(conn) as c, c.transaction():
            payloads = _store_payloads(c, batch, now)
            # Spaced so that first attempts follow the order of the events.
            moments = [ts(now + (position + index) * _SPACING) for index in range(len(batch))]
            made = c.execute(
                _INSERT_MESSAGES,
                ([m.id for m in batch], [m.endpoint for m in batch], payloads, moments),
            ).rowcount  # fmt: skip
        return max(made, 0)

    def message(self, message_id: str, *, with_attempts: bool = False) -> Message | None:
        """One message with its payload (and, if asked, every attempt, oldest first)."""
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {MESSAGE_COLUMNS}, p.body, {rows.INLINE_ATTEMPT_COLUMNS} "
                f"{_MESSAGE_FROM} WHERE m.id = %s",
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            log: list[dict[str, Any]] = []
            if with_attempts:
                earlier = conn.execute(
                    f"SELECT {rows.LOGGED_ATTEMPT_COLUMNS} FROM webhook_attempts a "  # noqa: S608
                    "WHERE a.message_id = %s ORDER BY a.number",
                    (message_id,),
                ).fetchall()
                log = rows.attempt_log(earlier, row[MESSAGE_WIDTH + 1 :])
        return rows.message(row[:MESSAGE_WIDTH], bytes(row[MESSAGE_WIDTH]), log)

    def messages(
        self,
        *,
        endpoint_id: str | None = None,
        status: str | None = None,
        since: float | None = None,
        limit: int = 50,
    ) -> list[Message]:
        """Messages newest first (dead letters: most recently dead first), optionally of
        one endpoint, in one status, since a time; without their payload."""
        query, values = rows.listing(
            endpoint_id=endpoint_id, status=status, since=since, limit=limit
        )
        with self.db.connection() as conn:
            found = conn.execute(query, values).fetchall()
        return [rows.message(row, b"", []) for row in found]

    def promote(
        self,
        *,
        now: float,
        lease: float,
        limit: int = 500,
        endpoint_id: str | None = None,
        endpoints: Sequence[str] | None = None,
    ) -> list[tuple[str, int]]:
        """Claim due messages for sending: (message id, token) pairs to enqueue, in the
        order they came due (per endpoint: the order of the events); of every endpoint,
        or only of ``endpoint_id`` / ``endpoints``.

        Messages whose lease ran out (their task was lost) come due again first. Due
        messages of a disabled endpoint are held. An endpoint gets at most its free
        in-flight slots; one promoter at a time fills them (the promoter of every
        endpoint skips those another holds; one asked for given endpoints waits for
        them), so the cap holds however many beats and workers promote at once.
        """
        chosen = [endpoint_id] if endpoint_id is not None else endpoints
        if chosen is not None and not chosen:
            return []
        with self.db.connection() as conn:
            return schedule.promote(conn, now=now, lease=lease, limit=limit, endpoints=chosen)

    def claim(self, message_id: str, token: int, *, now: float, guard: float) -> bool:
        """Take the attempt of a promoted message: True for exactly one caller per token.

        A claim older than ``guard`` (longer than any attempt can last) belongs to a
        worker that died, and may be taken over by the redelivered task."""
        with self.db.connection() as conn:
            return schedule.claim(conn, message_id, token, now=now, guard=guard)

    def take(
        self, message_id: str, token: int, *, now: float, guard: float
    ) -> tuple[Message, Endpoint] | None:
        """:meth:`claim` and load the message (with its payload) and its endpoint, in
        one statement; None when the claim is refused."""
        with self.db.connection() as conn:
            row = conn.execute(
                _TAKE,
                {"id": message_id, "token": token, "now": ts(now), "stale": ts(now - guard)},
            ).fetchone()
        if row is None:
            return None
        width = MESSAGE_WIDTH
        return rows.message(row[:width], bytes(row[width]), []), rows.endpoint(row[width + 1 :])

    def take_many(
        self, pairs: Sequence[tuple[str, int]], *, now: float, guard: float
    ) -> list[tuple[Message, Endpoint]]:
        """:meth:`take` for many (message id, token) pairs in one statement: those whose
        claim is accepted, in the order given."""
        with self.db.connection() as conn:
            return batches.take_many(conn, pairs, now=now, guard=guard)

    def finish_many(self, outcomes: Sequence[tuple[Outcome, str]]) -> list[int]:
        """:meth:`finish` for many outcomes (each with its endpoint's id), in one
        transaction sent in one round trip; the result of each, in the order given."""
        with self.db.connection() as conn:
            return batches.finish_many(conn, outcomes)

    def finish(
        self,
        message: Message,
        token: int,
        kind: FinishKind,
        *,
        now: float,
        attempt: Attempt | None,
        next_due: float = 0.0,
        reason: str = "",
        status: int | None = None,
    ) -> int:
        """Record an attempt's outcome. 0: stale token; 1: recorded; 2: endpoint disabled.

        One transaction: the message's new state, the attempt, the endpoint's health
        (and its disabling) and the counters."""
        with self.db.connection() as conn:
            return schedule.finish(
                conn, message.id, token, kind, now=now, attempt=attempt, next_due=next_due,
                reason=reason, status=status,
            )  # fmt: skip

    def replay(self, message_id: str, *, now: float, force: bool = False) -> int:
        """Schedule a failed message again now (a delivered one only with ``force``).

        -1 unknown, 0 already pending, 1 rescheduled, 2 delivered (and not forced).
        Only a failed message is replayed without force, so a second replay of the same
        dead letter (e.g. from another API replica at the same moment) finds it pending
        and sends nothing more."""
        with self.db.connection() as conn:
            return schedule.replay(conn, message_id, now=now, force=force)

    def replay_dead(self, endpoint_id: str, *, now: float) -> int:
        """Reschedule every dead letter of an endpoint."""
        with self.db.connection() as conn:
            return schedule.replay_many(conn, endpoint_id, ("dead",), since=None, now=now)

    def recover(self, endpoint_id: str, *, since: float, now: float) -> int:
        """Reschedule every failed (dead or held) message of an endpoint created since a time."""
        with self.db.connection() as conn:
            return schedule.replay_many(conn, endpoint_id, ("dead", "held"), since=since, now=now)

    def trim(self, *, older_than: float, batch: int = 500) -> int:
        """Delete finished messages (and their attempt log) last changed before a time, a
        batch per transaction; then the payloads no message uses any more."""
        with self.db.connection() as conn:
            return schedule.trim(conn, older_than=older_than, batch=batch)


def _write_secrets(conn: Connection, endpoint_id: str, secrets_: Sequence[Secret]) -> None:
    conn.execute("DELETE FROM webhook_secrets WHERE endpoint_id = %s", (endpoint_id,))
    if secrets_:
        conn.cursor().executemany(
            "INSERT INTO webhook_secrets (endpoint_id, position, secret, expires_at) "
            "VALUES (%s, %s, %s, %s)",
            [(endpoint_id, position, s.value, ts_or_none(s.expires))
             for position, s in enumerate(secrets_)],
        )  # fmt: skip


def _store_payloads(conn: Connection, batch: Sequence[NewMessage], now: float) -> list[int]:
    """Store each distinct payload of a batch once; returns each message's payload id."""
    at = ts(now)
    events: dict[tuple[str, int, str], NewMessage] = {}
    for message in batch:
        if message.article_id:
            events.setdefault((message.article_id, message.version, message.type), message)
    ids: dict[tuple[str, int, str], int] = {}
    if events:
        keys = list(events)
        rows = conn.execute(
            _INSERT_EVENT_PAYLOADS,
            ([k[2] for k in keys], [k[0] for k in keys], [k[1] for k in keys],
             [events[k].body for k in keys], [at] * len(keys)),
        ).fetchall()  # fmt: skip
        ids = {(str(a), int(v), str(t)): int(i) for i, a, v, t in rows}
        missing = [k for k in keys if k not in ids]
        if missing:  # stored by an earlier dispatch of the same events: reused
            rows = conn.execute(
                "SELECT p.id, p.article_id, p.version, p.type FROM webhook_payloads p "
                "JOIN unnest(%s::text[], %s::integer[], %s::text[]) "
                "AS k(article_id, version, type) "
                "ON (p.article_id, p.version, p.type) = (k.article_id, k.version, k.type)",
                ([k[0] for k in missing], [k[1] for k in missing], [k[2] for k in missing]),
            ).fetchall()
            ids |= {(str(a), int(v), str(t)): int(i) for i, a, v, t in rows}
    found: list[int] = []
    for message in batch:
        if message.article_id:
            found.append(ids[(message.article_id, message.version, message.type)])
        else:
            row = conn.execute(
                "INSERT INTO webhook_payloads (type, body, created_at) VALUES (%s, %s, %s) "
                "RETURNING id",
                (message.type, message.body, at),
            ).fetchone()
            assert row is not None
            found.append(int(row[0]))
    return found
