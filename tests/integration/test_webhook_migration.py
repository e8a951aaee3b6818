"""0003_compact_messages converts a database that ran 0002: messages keep their state,
their attempts (the latest moved onto the message row) and their order."""

from __future__ import annotations

import uuid

import psycopg

from feeds.webhooks.records import Attempt, NewMessage
from feeds.webhooks.store import WebhookStore
from tests.postgres import ScratchDatabases, database_url_named
from worker.database.connect import Database
from worker.database.migrate import _BOOKKEEPING, migrations, upgrade

T0 = 1_800_000_000.0

_OLD_ROWS = """
INSERT INTO webhook_endpoints (id, url, events, created_at, updated_at)
VALUES ('ep_old', 'http://127.0.0.1/x', '{article.published}', to_timestamp(1800000000),
        to_timestamp(1800000000));
INSERT INTO webhook_payloads (type, article_id, version, body, created_at)
VALUES ('article.published', 'a1', 2, '{"n": 1}', to_timestamp(1800000000));
INSERT INTO webhook_messages (id, endpoint_id, type, article_id, version, payload_id, status,
    attempts, round_attempts, token, next_due, created_at, updated_at, delivered_at, dead_at,
    last_status, last_error)
SELECT v.id, 'ep_old', 'article.published', 'a1', 2, (SELECT id FROM webhook_payloads),
       v.status, v.attempts, v.attempts, v.attempts, to_timestamp(1800000000 + v.n),
       to_timestamp(1800000000 + v.n), to_timestamp(1800000100),
       CASE WHEN v.status = 'delivered' THEN to_timestamp(1800000100) END,
       CASE WHEN v.status = 'dead' THEN to_timestamp(1800000100) END, v.code, v.error
FROM (VALUES (1, 'msg_sent', 'delivered', 1, 204, NULL),
             (2, 'msg_dead', 'dead', 2, 500, 'HTTP 500'),
             (3, 'msg_waiting', 'scheduled', 0, NULL, NULL))
     AS v(n, id, status, attempts, code, error);
INSERT INTO webhook_attempts (message_id, number, at, status, latency_ms, response, error,
                              outcome, reason, next_due)
VALUES ('msg_sent', 1, to_timestamp(1800000001), 204, 5.5, '', NULL, 'delivered', '', NULL),
       ('msg_dead', 1, to_timestamp(1800000002), 500, 7.25, 'no', NULL, 'retry', 'HTTP 500',
        to_timestamp(1800000050)),
       ('msg_dead', 2, to_timestamp(1800000050), 500, 8.0, 'still no', NULL, 'dead',
        'HTTP 500', NULL);
"""


def database_at_0002(databases: ScratchDatabases) -> str:
    name = f"old_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(databases.admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    url = database_url_named(databases.admin_url, name)
    with psycopg.connect(url) as connection:
        connection.execute(_BOOKKEEPING)
        for migration in migrations():
            if migration.version <= 2:
                connection.execute(migration.sql.encode())
                connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
        connection.execute(_OLD_ROWS.encode())
    return url


def test_a_database_made_by_0002_is_converted(databases: ScratchDatabases) -> None:
    url = database_at_0002(databases)
    assert [m.version for m in upgrade(url)] == [3]
    db = Database(url)
    try:
        store = WebhookStore(db)
        sent = store.message("msg_sent", with_attempts=True)
        assert sent is not None and sent.status == "delivered" and sent.attempts == 1
        assert (sent.type, sent.article_id, sent.version, sent.endpoint) == (
            "article.published", "a1", 2, "ep_old",
        )  # fmt: skip
        assert [(a["attempt"], a["status"], a["latency_ms"]) for a in sent.attempt_log] == [
            (1, 204, 5.5)
        ]
        dead = store.message("msg_dead", with_attempts=True)
        assert dead is not None and dead.status == "dead" and dead.last_error == "HTTP 500"
        assert [(a["attempt"], a["response"], a["outcome"]) for a in dead.attempt_log] == [
            (1, "no", "retry"), (2, "still no", "dead"),
        ]  # fmt: skip
        assert dead.attempt_log[0]["next_due"] is not None
        with db.connection() as conn:
            rows = conn.execute("SELECT message_id, number FROM webhook_attempts").fetchall()
        assert rows == [("msg_dead", 1)]  # the latest attempts are on their messages
        assert [m.id for m in store.messages(endpoint_id="ep_old")] == [
            "msg_waiting", "msg_dead", "msg_sent",
        ]  # fmt: skip
        # The converted schedule still runs, and new messages follow the old ones.
        assert store.create_messages(
            [NewMessage("msg_new", "ep_old", "article.published", b"{}", "a2", 1)], now=T0 + 200
        ) == 1  # fmt: skip
        due = store.promote(now=T0 + 300, lease=100.0)
        assert [message_id for message_id, _ in due] == ["msg_waiting"]
        waiting = store.message("msg_waiting")
        assert waiting is not None
        attempt = Attempt(at=T0 + 300, status=204, latency_ms=1.0, outcome="delivered")
        assert store.finish(waiting, due[0][1], "delivered", now=T0 + 300, attempt=attempt) == 1
        assert store.replay("msg_dead", now=T0 + 400) == 1
    finally:
        db.close()
