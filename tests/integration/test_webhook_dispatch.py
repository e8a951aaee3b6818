"""A dispatch stores its first messages on their own and hands them over before the
rest; if it fails after that, the next dispatch makes the rest, and none twice.

No Celery: the service is called as the dispatch task calls it, on a real PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import RedisService
from tests.postgres import ScratchDatabases
from worker.core.options import DEFAULT_OPTIONS
from worker.database.connect import Database
from worker.ingest import process_submission
from worker.store import Store

ENDPOINTS = 50
FIRST = 20  # feeds.webhooks.service._FIRST_MESSAGES


@pytest.fixture
def webhooks(
    redis_service: RedisService, databases: ScratchDatabases, settings: Settings
) -> Iterator[Webhooks]:
    # A database of its own: the session's workers never see these endpoints.
    db = Database(databases.create("dispatch"))
    yield Webhooks(Store(db, redis_service.client()), settings)
    db.close()


def subscribe(webhooks: Webhooks, count: int) -> list[str]:
    made = []
    for index in range(count):
        request = {"url": f"http://127.0.0.1:9/partner/{index}"}
        made.append(webhooks.subscribe(parse_subscription(request, creating=True))[0].id)
    return made


def publish_article(store: Store) -> None:
    title = f"Dispatched {uuid.uuid4().hex[:8]}"
    submission = store.accept(
        kind="upsert", article_id=title.lower().replace(" ", "-"), received_at=time.time(),
        raw=f"{title}\nA description.\nPart\nA paragraph.\n".encode(), format="text",
    )  # fmt: skip
    process_submission(store, submission.id, DEFAULT_OPTIONS, now=time.time())


def stored(webhooks: Webhooks) -> tuple[int, int]:
    """(messages, endpoints with a message), read on a connection of its own: only
    what is committed."""
    with psycopg.connect(webhooks.store.db.url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT endpoint_num) FROM webhook_messages"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def undispatched(webhooks: Webhooks) -> int:
    with psycopg.connect(webhooks.store.db.url) as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE dispatched_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])


def test_the_first_messages_are_committed_and_handed_over_before_the_rest(
    webhooks: Webhooks,
) -> None:
    endpoints = subscribe(webhooks, ENDPOINTS)
    publish_article(webhooks.articles)
    handed: list[tuple[list[str], tuple[int, int]]] = []

    def first(chosen: list[str]) -> None:
        handed.append((chosen, stored(webhooks)))

    assert webhooks.dispatch(first=first) == ENDPOINTS
    assert handed == [(endpoints[:FIRST], (FIRST, FIRST))]
    assert stored(webhooks) == (ENDPOINTS, ENDPOINTS)
    assert undispatched(webhooks) == 0
    assert webhooks.dispatch(first=first) == 0 and len(handed) == 1


def test_a_dispatch_that_fails_after_its_first_messages_is_completed_by_the_next(
    webhooks: Webhooks,
) -> None:
    subscribe(webhooks, ENDPOINTS)
    publish_article(webhooks.articles)

    def first(_: list[str]) -> None:
        raise RuntimeError("the dispatching worker died here")

    with pytest.raises(RuntimeError, match="died"):
        webhooks.dispatch(first=first)
    assert stored(webhooks) == (FIRST, FIRST)
    assert undispatched(webhooks) == 1

    assert webhooks.dispatch() == ENDPOINTS - FIRST
    assert stored(webhooks) == (ENDPOINTS, ENDPOINTS)
    assert undispatched(webhooks) == 0
