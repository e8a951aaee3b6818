"""Redis (embedded, append-only file) crashes and restarts while articles flow: every
article the API accepted before the crash is stored, published and delivered, and the
workers and the API reconnect by themselves. On RabbitMQ (each fault test runs on both
brokers) Redis is then only the coordination store, and the same must hold."""

from __future__ import annotations

import time

from feeds.publish import Publisher
from feeds.webhooks.spec import parse_subscription
from tests.faults.conftest import PersistentPoster, System, deliveries, entry_id, feed_entries
from tests.integration.conftest import wait_until
from tests.integration.receiver import running_receiver

ARTICLES = 150
ENDPOINTS = 3
PAGE = 25


def body(index: int) -> bytes:
    return f"Crash Story {index:03d}\nA story told around a crash.\nPart\nWords {index}.\n".encode()


def test_a_redis_crash_mid_flow_loses_nothing_accepted(system: System) -> None:
    system.env["SYNDICATE_FEED_ENTRIES"] = str(PAGE)
    # Tasks wait up to 7 s for Redis (soft time limit 8 s - 1 s), longer than the outage.
    system.env.update(SYNDICATE_VISIBILITY_TIMEOUT="20", SYNDICATE_TASK_TIME_LIMIT="10")
    api = system.api()
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=8, pool="threads")
    webhooks = system.webhooks()
    with running_receiver() as receiver:
        for number in range(ENDPOINTS):
            request = {"url": receiver.url(f"/crash-{number}"), "max_in_flight": 4}
            webhooks.subscribe(parse_subscription(request, creating=True))
        poster = PersistentPoster(api.client, body, ARTICLES, retry_pause=0.1, pause=0.03)
        poster.start()
        wait_until(lambda: len(poster.accepted) >= ARTICLES // 3, timeout=60)
        before_crash = dict(poster.accepted)
        system.kill_redis()
        crashed_at = time.monotonic()
        time.sleep(2)
        system.start_redis()
        poster.join(timeout=120)
        assert not poster.is_alive()
        assert len(poster.accepted) == ARTICLES

        store = system.store()
        ids = set(poster.accepted.values())

        def everything_done() -> bool:
            stored = all((r := store.article(a)) is not None and r.version == 1 for a in ids)
            return stored and all(
                {d.article_id for d in deliveries(receiver, f"/crash-{n}") if d.status == 204}
                >= ids
                for n in range(ENDPOINTS)
            )

        wait_until(everything_done, timeout=120, interval=0.5)
        recovered_in = time.monotonic() - crashed_at

        def published() -> bool:
            current, archived = feed_entries(Publisher(store, system.settings), "main")
            return set(archived) | set(current) == {entry_id(a) for a in ids}

        wait_until(published, timeout=60, interval=0.5)
        # The API and the workers were never restarted: they reconnected by themselves.
        assert all(p.process.poll() is None for p in system.processes)
        assert api.client.get("/readyz").status_code == 200
        print(
            f"\n{len(before_crash)} articles accepted before the crash, {ARTICLES} in all; "
            f"lost 0; {poster.refused} posts refused while Redis was down; "
            f"all stored and delivered {recovered_in:.1f}s after the crash (2 s of it down)"
        )
