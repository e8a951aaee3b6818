"""How webhook rows are selected and read back into records.

A message's columns come from three tables: its row, its endpoint (the public id) and
its payload (the event fields, stored once per event). Its attempts come from two: the
latest is on the message row (``attempt_*``, numbered by the message's ``attempts``),
the earlier ones are rows of ``webhook_attempts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from feeds.webhooks.records import (
    OUTCOME_NAMES,
    STATUS_CODES,
    STATUS_NAMES,
    Attempt,
    Endpoint,
    Message,
    Secret,
)
from worker.database.times import epoch, ts

ENDPOINT_COLUMNS = (
    "e.id, e.url, e.events, e.authors, e.tags, e.description, e.enabled, "
    "e.disabled_reason, e.disabled_at, e.created_at, e.updated_at, e.max_in_flight, "
    "e.failing_since, e.last_success_at, e.last_failure_at, e.rate_limit, e.ordering, "
    "ARRAY(SELECT s.secret FROM webhook_secrets s WHERE s.endpoint_id = e.id "
    "ORDER BY s.position), "
    "ARRAY(SELECT s.expires_at FROM webhook_secrets s WHERE s.endpoint_id = e.id "
    "ORDER BY s.position)"
)
ENDPOINT_SELECT = "SELECT " + ENDPOINT_COLUMNS + " FROM webhook_endpoints e "  # noqa: S608

#: A message's columns, from ``webhook_messages m``, ``webhook_endpoints e`` (joined on
#: ``e.num = m.endpoint_num``) and ``webhook_payloads p`` (on ``p.id = m.payload_id``).
MESSAGE_COLUMNS = (
    "m.id, e.id, p.type, m.created_at, m.status, p.article_id, p.version, "
    "m.attempts, m.round_attempts, m.token, m.next_due, m.delivered_at, m.dead_at, "
    "m.last_status, m.last_error"
)
MESSAGE_WIDTH = MESSAGE_COLUMNS.count(",") + 1

#: The latest attempt, on the message row (``attempt_at`` is NULL before the first).
INLINE_ATTEMPT_COLUMNS = (
    "m.attempts, m.attempt_at, m.attempt_status, m.attempt_latency, m.attempt_response, "
    "m.attempt_error, m.attempt_outcome, m.attempt_reason, m.attempt_next_due"
)
#: An earlier attempt, a row of ``webhook_attempts a``.
LOGGED_ATTEMPT_COLUMNS = (
    "a.number, a.at, a.status, a.latency_ms, a.response, a.error, a.outcome, a.reason, a.next_due"
)


#: The messages of an endpoint, newest first, by state; each part is read from an index
#: that holds only its messages (so a message in delivery adds no entry to the first).
_PARTS = {
    "finished": "m.status IN ('d', 'x', 'h')",  # webhook_messages_endpoint
    "scheduled": "m.status = 's'",  # webhook_messages_due
    "queued": "m.status = 'q'",  # webhook_messages_leased
}


def listing(
    *, endpoint_id: str | None, status: str | None, since: float | None, limit: int
) -> tuple[sql.Composed, dict[str, Any]]:
    """The query of :meth:`WebhookStore.messages` and its values."""
    values: dict[str, Any] = {"limit": max(0, limit)}
    endpoint = sql.SQL("TRUE")
    if endpoint_id is not None:
        endpoint = sql.SQL("e.id = %(endpoint)s")
        values["endpoint"] = endpoint_id
    if status == "dead":  # most recently dead first (webhook_messages_dead)
        since_dead = sql.SQL("TRUE")
        if since is not None:
            since_dead = sql.SQL("m.dead_at >= %(since)s")
            values["since"] = ts(since)
        query = sql.SQL(
            "SELECT {} FROM webhook_messages m JOIN webhook_endpoints e ON e.num = m.endpoint_num "
            "JOIN webhook_payloads p ON p.id = m.payload_id "
            "WHERE m.status = 'x' AND {} AND {} ORDER BY m.dead_at DESC, m.seq DESC "
            "LIMIT %(limit)s"
        ).format(sql.SQL(MESSAGE_COLUMNS), endpoint, since_dead)
        return query, values
    conditions = [sql.SQL("m.endpoint_num = e.num")]
    if status is not None:
        conditions.append(sql.SQL("m.status = %(status)s"))
        values["status"] = STATUS_CODES.get(status, "?")
    if since is not None:
        conditions.append(sql.SQL("m.created_at >= %(since)s"))
        values["since"] = ts(since)
    wanted = [name for name in _PARTS if status in (None, name)] or ["finished"]
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "(SELECT m.* FROM webhook_messages m WHERE {} AND {} "
            "ORDER BY m.created_at DESC, m.seq DESC LIMIT %(limit)s)"
        ).format(sql.SQL(_PARTS[name]), sql.SQL(" AND ").join(conditions))
        for name in wanted
    )
    query = sql.SQL(
        "SELECT {} FROM webhook_endpoints e CROSS JOIN LATERAL ({}) m "
        "JOIN webhook_payloads p ON p.id = m.payload_id WHERE {} "
        "ORDER BY m.created_at DESC, m.seq DESC LIMIT %(limit)s"
    ).format(sql.SQL(MESSAGE_COLUMNS), parts, endpoint)
    return query, values


def endpoint(row: Sequence[Any]) -> Endpoint:
    (endpoint_id, url, events, authors, tags, description, enabled, disabled_reason,
     disabled_at, created_at, updated_at, max_in_flight, failing_since, last_success_at,
     last_failure_at, rate_limit, ordering, secret_values, secret_expiries) = row  # fmt: skip
    return Endpoint(
        id=str(endpoint_id),
        url=str(url),
        events=tuple(events),
        authors=tuple(authors),
        tags=tuple(tags),
        description=str(description),
        enabled=bool(enabled),
        disabled_reason=disabled_reason or None,
        disabled_at=epoch(disabled_at),
        created_at=epoch(created_at) or 0.0,
        updated_at=epoch(updated_at) or 0.0,
        max_in_flight=int(max_in_flight),
        failing_since=epoch(failing_since),
        last_success_at=epoch(last_success_at),
        last_failure_at=epoch(last_failure_at),
        rate_limit=None if rate_limit is None else int(rate_limit),
        ordering=str(ordering),
        secrets=tuple(
            Secret(str(value), epoch(expires))
            for value, expires in zip(secret_values, secret_expiries, strict=True)
        ),
    )


def message(row: Sequence[Any], body: bytes, log: list[dict[str, Any]]) -> Message:
    (message_id, endpoint_id, event_type, created_at, status, article_id, version,
     attempts, round_attempts, token, next_due, delivered_at, dead_at, last_status,
     last_error) = row  # fmt: skip
    return Message(
        id=str(message_id),
        endpoint=str(endpoint_id),
        type=str(event_type),
        created_at=epoch(created_at) or 0.0,
        body=body,
        status=STATUS_NAMES[str(status)],
        article_id=article_id or "",
        version=int(version or 0),
        attempts=int(attempts),
        round_attempts=int(round_attempts),
        token=int(token),
        next_due=epoch(next_due),
        delivered_at=epoch(delivered_at),
        dead_at=epoch(dead_at),
        last_status=None if last_status is None else int(last_status),
        last_error=last_error or None,
        attempt_log=log,
    )


def attempt(row: Sequence[Any]) -> dict[str, Any]:
    """An attempt as the log shows it, from logged or inline attempt columns (an inline
    attempt's empty response and reason are stored as NULL, its outcome as a code)."""
    number, at, status, latency_ms, response, error, outcome, reason, next_due = row
    outcome = OUTCOME_NAMES.get(outcome, outcome)
    made = Attempt(
        at=epoch(at) or 0.0,
        status=None if status is None else int(status),
        latency_ms=float(latency_ms),
        outcome=str(outcome),
        response=response or "",
        error=error,
        reason=reason or "",
        next_due=epoch(next_due),
    )
    return made.public(int(number))


def attempt_log(logged: Sequence[Sequence[Any]], inline: Sequence[Any]) -> list[dict[str, Any]]:
    """Every attempt, oldest first: the earlier ones (in number order), then the latest."""
    log = [attempt(row) for row in logged]
    if inline[1] is not None:
        log.append(attempt(inline))
    return log
