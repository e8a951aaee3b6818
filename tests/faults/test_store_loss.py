"""Losing either store mid-flow loses nothing the API accepted.

- Redis is only the queue: it is wiped (FLUSHALL) while articles flow, then restarted
  with its append-only file deleted. The task messages it held are gone; the outbox
  sweep, the publish sweep and the delivery leases find the unfinished work in
  PostgreSQL and queue it again: every article is stored, published and delivered.
- PostgreSQL is the record: it is SIGKILLed mid-flow and restarted. Posts answer 503
  while it is down (a client retries them); nothing answered 202 is lost (stored,
  published, delivered), and the API and workers reconnect by themselves.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from feeds.publish import Publisher
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.faults.conftest import HEADERS, System, deliveries, entry_id, feed_entries
from tests.integration.conftest import wait_until
from tests.integration.receiver import running_receiver
from worker.database.connect import Database
from worker.database.embedded import EmbeddedPostgres
from worker.database.migrate import upgrade
from worker.store import Store

ARTICLES = 120
PAGE = 25


def body(index: int, tag: str) -> bytes:
    return f"Lost Store {tag} {index:03d}\nA story told around a loss.\nPart\nWords.\n".encode()


class Poster:
    """Posts articles in a thread like a client that retries what was not accepted."""

    def __init__(self, client: httpx.Client, tag: str) -> None:
        self.client = client
        self.tag = tag
        self.accepted: dict[int, str] = {}
        self.refused = 0
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        for index in range(ARTICLES):
            while True:
                try:
                    response = self.client.post(
                        "/v1/articles", content=body(index, self.tag),
                        headers={**HEADERS, "Content-Type": "text/plain"},
                    )  # fmt: skip
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 202:
                    self.accepted[index] = response.json()["id"]
                    break
                assert response is None or response.status_code == 503, response.text
                self.refused += 1
                time.sleep(0.1)
            time.sleep(0.03)

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.accepted) >= count, timeout=90)


def settle(system: System, store: Store, ids: set[str]) -> float:
    """Wait until every id is stored at version 1 and in the main feed; seconds taken."""
    started = time.monotonic()

    def stored() -> bool:
        return all((r := store.article(a)) is not None and r.version == 1 for a in ids)

    wait_until(stored, timeout=120, interval=0.5)

    def published() -> bool:
        current, archived = feed_entries(Publisher(store, system.settings), "main")
        return set(archived) | set(current) == {entry_id(a) for a in ids}

    wait_until(published, timeout=60, interval=0.5)
    return time.monotonic() - started


def start_flow(system: System) -> None:
    system.env.update(
        SYNDICATE_FEED_ENTRIES=str(PAGE),
        SYNDICATE_INGEST_LEASE="4s",
        SYNDICATE_VISIBILITY_TIMEOUT="20",
        SYNDICATE_TASK_TIME_LIMIT="10",
    )


def test_redis_wiped_mid_flow_loses_nothing(system: System) -> None:
    start_flow(system)
    api = system.api()
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=8, pool="threads")
    with running_receiver() as receiver:
        request = {"url": receiver.url("/wiped"), "max_in_flight": 4}
        system.webhooks().subscribe(parse_subscription(request, creating=True))
        poster = Poster(api.client, "wiped")
        poster.thread.start()
        poster.wait_for(ARTICLES // 3)
        system.client().flushall()  # every queue, unacked message, lock and flag: gone
        poster.wait_for(2 * ARTICLES // 3)
        system.redis.stop()  # and a restart that finds no append-only file
        for leftover in system.directory.glob("appendonly*"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
        system.start_redis()
        lost_at = time.monotonic()
        poster.thread.join(timeout=120)
        assert not poster.thread.is_alive() and len(poster.accepted) == ARTICLES
        store = system.store()
        ids = set(poster.accepted.values())
        settle(system, store, ids)

        def delivered() -> set[str]:
            return {d.article_id for d in deliveries(receiver, "/wiped") if d.status == 204}

        wait_until(lambda: delivered() >= ids, timeout=120, interval=0.5)
        recovered_in = time.monotonic() - lost_at
        repeats = len(deliveries(receiver, "/wiped")) - len(ids)
    assert all(p.process.poll() is None for p in system.processes)
    print(f"\nRedis wiped twice mid-flow: {ARTICLES} accepted, 0 lost, all stored, published "
          f"and delivered {recovered_in:.1f}s after the restart ({repeats} repeats)")  # fmt: skip


@pytest.fixture
def own_postgres(system: System) -> Iterator[Callable[[], EmbeddedPostgres]]:
    """The system moved onto a PostgreSQL server of its own, which the test may kill."""
    server = EmbeddedPostgres(system.directory / "pg").start()
    upgrade(server.url)
    system.env["DATABASE_URL"] = server.url
    system.database_url = server.url
    holder = {"server": server}
    yield lambda: holder["server"]
    for process in system.processes:
        process.stop()
    system.processes.clear()
    holder["server"].stop()


def test_postgres_killed_mid_flow_loses_nothing_accepted(
    system: System, own_postgres: Callable[[], EmbeddedPostgres]
) -> None:
    start_flow(system)
    api = system.api()
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=8, pool="threads")
    server = own_postgres()
    store = Store(Database(server.url), system.client())
    with running_receiver() as receiver:
        request = {"url": receiver.url("/killed"), "max_in_flight": 4}
        Webhooks(store, system.settings).subscribe(parse_subscription(request, creating=True))
        poster = Poster(api.client, "killed")
        poster.thread.start()
        poster.wait_for(ARTICLES // 3)
        server.kill()
        time.sleep(2)
        server.start()
        restarted_at = time.monotonic()
        poster.thread.join(timeout=120)
        assert not poster.thread.is_alive() and len(poster.accepted) == ARTICLES
        ids = set(poster.accepted.values())
        try:
            settle(system, store, ids)

            def delivered() -> set[str]:
                return {d.article_id for d in deliveries(receiver, "/killed") if d.status == 204}

            wait_until(lambda: delivered() >= ids, timeout=120, interval=0.5)
        finally:
            store.db.close()
    recovered_in = time.monotonic() - restarted_at
    assert all(p.process.poll() is None for p in system.processes)
    assert api.client.get("/readyz").json()["postgres"] == "ok"
    print(f"\nPostgreSQL SIGKILLed mid-flow (down 2 s): {ARTICLES} accepted, 0 lost, "
          f"{poster.refused} posts answered 503 meanwhile; all stored, published and "
          f"delivered {recovered_in:.1f}s after the restart")  # fmt: skip
