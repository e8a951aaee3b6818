"""Endpoints that are down, slow or silent: they cost their own messages time, never
anyone else's, and what they missed is delivered once they are back."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from feeds.webhooks.spec import parse_subscription
from tests.faults.conftest import HEADERS, System, deliveries
from tests.integration.conftest import free_port, wait_until
from tests.integration.receiver import Receiver, running_receiver


def story(tag: str, index: int) -> bytes:
    return f"{tag} Story {index:03d}\nA description.\nPart\nWords {index}.\n".encode()


def ok_count(receiver: Receiver, path: str) -> int:
    return sum(1 for d in deliveries(receiver, path) if 200 <= d.status < 300)


def test_an_endpoint_down_for_the_whole_schedule_gets_everything_on_replay(
    system: System,
) -> None:
    articles, healthy, down = 50, 15, 5
    api = system.api()
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=8, pool="threads")
    webhooks = system.webhooks()
    submitter = system.submitter()
    port = free_port()  # nothing listens there yet: connections are refused
    with running_receiver() as receiver:
        for number in range(healthy):
            request = {"url": receiver.url(f"/up-{number}"), "max_in_flight": 4}
            webhooks.subscribe(parse_subscription(request, creating=True))
        dead_ids = []
        for number in range(down):
            request = {"url": f"http://127.0.0.1:{port}/down-{number}", "max_in_flight": 4}
            endpoint, _ = webhooks.subscribe(parse_subscription(request, creating=True))
            dead_ids.append(endpoint.id)
        for index in range(articles):
            submitter.submit(story("Outage", index))

        def all_dead() -> bool:
            states = [m.status for e in dead_ids for m in webhooks.store.messages(endpoint_id=e)]
            return len(states) == articles * down and set(states) == {"dead"}

        wait_until(all_dead, timeout=120, interval=0.5)
        wait_until(lambda: all(ok_count(receiver, f"/up-{n}") == articles for n in range(healthy)))
        attempts = [len(webhooks.message(m.id).attempt_log)
                    for m in webhooks.store.messages(endpoint_id=dead_ids[0])]  # fmt: skip
        assert set(attempts) == {len(system.settings.webhook_schedule)}  # the whole schedule
        assert all(webhooks.endpoint(e).enabled for e in dead_ids)

    with running_receiver(port) as back:
        started = time.monotonic()
        for endpoint_id in dead_ids:
            response = api.client.post(
                f"/v1/subscriptions/{endpoint_id}/replay-dead", headers=HEADERS
            )
            assert response.status_code == 202, response.text
        paths = [f"/down-{n}" for n in range(down)]
        wait_until(lambda: all(ok_count(back, p) >= articles for p in paths), timeout=120)
        replayed_in = time.monotonic() - started
        time.sleep(2)  # would-be duplicates have time to arrive
        for path in paths:
            sent = Counter(d.webhook_id for d in deliveries(back, path) if d.status == 204)
            assert len(sent) == articles and set(sent.values()) == {1}, path
        statuses = {m.status for e in dead_ids for m in webhooks.store.messages(endpoint_id=e)}
        assert statuses == {"delivered"}
    print(
        f"\n{articles * down} dead letters ({down} endpoints x {articles}) replayed and "
        f"delivered once each in {replayed_in:.1f}s; {healthy} healthy endpoints unaffected"
    )


@contextmanager
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """Accepts connections and never answers (nor reads)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_slow_and_silent_endpoints_do_not_slow_the_others(system: System) -> None:
    articles, healthy = 20, 10
    # Production-like limits: an attempt may take 35 s before it is cut off.
    system.env.update(
        SYNDICATE_WEBHOOK_TIMEOUT="35s", SYNDICATE_WEBHOOK_CONNECT_TIMEOUT="2s",
        SYNDICATE_TASK_TIME_LIMIT="45", SYNDICATE_VISIBILITY_TIMEOUT="60",
    )  # fmt: skip
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=8, pool="threads")
    webhooks = system.webhooks()
    with running_receiver() as receiver, silent_server() as (silent_port, held):
        for number in range(healthy):
            webhooks.subscribe(parse_subscription({"url": receiver.url(f"/fine-{number}")},
                                                  creating=True))  # fmt: skip
        for number in range(2):
            webhooks.subscribe(parse_subscription({"url": receiver.url(f"/slow-{number}",
                                                  "slow:30")}, creating=True))  # fmt: skip
            url = f"http://127.0.0.1:{silent_port}/silent-{number}"
            webhooks.subscribe(parse_subscription({"url": url}, creating=True))
        submitter = system.submitter()
        submitted = {}
        for index in range(articles):
            submitter.submit(story("Patience", index))
            submitted[f"patience-story-{index:03d}"] = time.time()
        fine = [f"/fine-{n}" for n in range(healthy)]
        wait_until(lambda: all(ok_count(receiver, p) == articles for p in fine), timeout=60)
        last_fine = max(r.at for p in fine for r in receiver.received(p))
        # The slow and silent endpoints were holding their first requests all along.
        assert all(receiver.begun(f"/slow-{n}") >= 1 for n in range(2))
        assert len(held) >= 2
        slow_answers = [r.at for n in range(2) for r in receiver.received(f"/slow-{n}")]
        assert not slow_answers or last_fine < min(slow_answers)
        latencies = sorted(
            r.at - submitted[d.article_id]
            for p in fine
            for r, d in zip(receiver.received(p), deliveries(receiver, p), strict=True)
        )
        wait_until(lambda: ok_count(receiver, "/slow-0") >= 1, timeout=60)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\n{healthy} healthy endpoints got all {articles} messages within "
        f"{last_fine - min(submitted.values()):.1f}s of the first submission, while 2 slow "
        f"(30 s) and 2 silent endpoints held their requests; healthy latency "
        f"p50 {statistics.median(latencies):.2f}s, p99 {p99:.2f}s"
    )
