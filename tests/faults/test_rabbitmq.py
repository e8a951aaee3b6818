"""RabbitMQ as Celery's broker: quorum queues, real depths and consumers, a SIGKILLed
worker's task back at once, and a RabbitMQ crash that loses nothing accepted.

Each test runs on a vhost of its own on the reachable RabbitMQ (skipped with one line
when there is none); the crash test starts a RabbitMQ node of its own, so the machine's
server is never restarted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import httpx
import pytest

from feeds.publish import Publisher
from feeds.webhooks.spec import parse_subscription
from tests.faults.conftest import PersistentPoster, System, deliveries, entry_id, feed_entries
from tests.faults.test_redis_restart import body
from tests.integration.conftest import free_port, wait_until
from tests.integration.receiver import running_receiver
from tests.integration.test_reliability import big_article
from tests.rabbitmq import PrivateNode, private_node_available, queue_types, require_rabbitmq
from worker.broker_queues import amqp_queues
from worker.status import gather

pytestmark = pytest.mark.rabbitmq_broker
QUEUES = ("ingest", "publish", "deliver")


def metric(api_client: httpx.Client, name: str, queue: str) -> float:
    text = api_client.get("/metrics").text
    found = re.search(rf'^{name}{{queue="{queue}"}} (\S+)$', text, re.MULTILINE)
    assert found is not None, f"{name} for {queue} missing"
    return float(found.group(1))


def test_quorum_queues_report_depths_and_consumers_and_carry_articles_to_feeds_and_webhooks(
    system: System, broker: str
) -> None:
    api = system.api()
    webhooks = system.webhooks()
    submitter = system.submitter()
    with running_receiver() as receiver:
        webhooks.subscribe(parse_subscription({"url": receiver.url("/partner")}, creating=True))
        accepted = [submitter.submit(body(index)) for index in range(5)]

        # No worker yet: the five wait on the quorum queue, nobody consumes it.
        wait_until(lambda: metric(api.client, "syndicate_queue_length", "ingest") == 5)
        assert metric(api.client, "syndicate_queue_consumers", "ingest") == 0
        ready = api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["queues"]["ingest"]["consumers"] == 0
        status = gather(system.client(), system.store(), broker=broker)
        assert status["broker"]["kind"] == "rabbitmq"
        assert status["queues"]["ingest"] == {"depth": 5, "oldest_age": None, "consumers": 0}

        system.beat()
        system.worker("ingest,publish", concurrency=2)
        system.worker("deliver", concurrency=4, pool="threads")
        store = system.store()
        ids = {item.article_id for item in accepted}
        wait_until(lambda: all(store.article(a) is not None for a in ids), timeout=90)
        wait_until(
            lambda: {d.article_id for d in deliveries(receiver, "/partner")} >= ids, timeout=90
        )

        def published() -> bool:
            return _in_main_feed(system, ids)

        # The feed is published by a task sent with a countdown: native delayed delivery.
        wait_until(published, timeout=60, interval=0.5)
        wait_until(lambda: api.client.get("/readyz").status_code == 200, timeout=30)
    for queue in QUEUES:
        assert metric(api.client, "syndicate_queue_consumers", queue) == 1
        assert metric(api.client, "syndicate_queue_length", queue) == 0
    types = queue_types(broker)
    assert {queue: types[queue] for queue in QUEUES} == dict.fromkeys(QUEUES, "quorum")


def _in_main_feed(system: System, ids: set[str]) -> bool:
    publisher = Publisher(system.store(), system.settings)
    if publisher.read("atom.xml", body="body") is None:
        return False  # not published yet
    current, archived = feed_entries(publisher, "main")
    return {entry_id(a) for a in ids} <= set(current) | set(archived)


def _claimed_at(system: System, submission_id: str) -> float:
    with system.store().db.connection() as conn:
        row = conn.execute("SELECT queued_at FROM submissions WHERE id = %s", (submission_id,))
        value = row.fetchone()
    assert value is not None
    claimed = value[0]
    return claimed.timestamp() if isinstance(claimed, datetime) else float(claimed)


def test_a_whole_worker_sigkilled_has_its_task_run_elsewhere_at_once(
    system: System, broker: str
) -> None:
    """Production timeouts, and an outbox sweep that would wait 5 minutes: only the
    broker can hand the killed task back, and on RabbitMQ it does when the connection
    of the dead worker closes."""
    system.env.update(
        SYNDICATE_VISIBILITY_TIMEOUT="90", SYNDICATE_TASK_TIME_LIMIT="60",
        SYNDICATE_WEBHOOK_CONNECT_TIMEOUT="5s", SYNDICATE_WEBHOOK_TIMEOUT="15s",
        SYNDICATE_INGEST_LEASE="300s",
    )  # fmt: skip
    submitter = system.submitter()
    store = system.store()
    first = system.worker("ingest")

    def status(submission_id: str) -> str:
        submission = store.submission(submission_id)
        return "" if submission is None else submission.status

    for _ in range(3):
        big = submitter.submit(big_article(uuid.uuid4().hex[:6]))
        began = partial(lambda sid: status(sid) == "processing", big.submission_id)
        wait_until(began, timeout=60, interval=0.005)
        # Frozen mid-task (its connection open, the message unacknowledged) while a
        # second worker starts: the big article alone takes less time than a worker's
        # start-up.
        os.killpg(first.process.pid, signal.SIGSTOP)
        time.sleep(0.2)  # a commit already on its way lands
        if status(big.submission_id) == "processing":
            break
        # On a busy machine the worker may finish between the two looks: again.
        os.killpg(first.process.pid, signal.SIGCONT)
    else:
        pytest.fail("the worker finished every article before it could be frozen mid-task")
    system.worker("ingest")
    wait_until(lambda: amqp_queues(broker, ("ingest",))["ingest"].consumers == 2, timeout=60)
    # The clock starts before the kill: on a busy machine the other worker may claim the
    # task before the test process is back from reaping the dead one.
    killed_at = time.time()
    first.kill()
    wait_until(lambda: _claimed_at(system, big.submission_id) > killed_at, timeout=60)
    redelivered_in = _claimed_at(system, big.submission_id) - killed_at

    wait_until(lambda: status(big.submission_id) == "done", timeout=120)
    record = store.article(big.article_id)
    assert record is not None
    assert record.version == 1
    assert len(record.history) == 1
    # Within the 5 s promised on RabbitMQ; a Redis broker would take 90 s, the sweep 300 s.
    assert redelivered_in <= 5, redelivered_in
    print(f"\nwhole worker SIGKILLed on RabbitMQ: its task restarted {redelivered_in:.2f}s later")


@pytest.fixture
def private_node() -> Iterator[PrivateNode]:
    require_rabbitmq()
    if not private_node_available():
        pytest.skip("rabbitmq-server not installed: cannot start a private node to crash")
    directory = Path(f"/tmp/syn-rmq-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    node = PrivateNode(directory, free_port(), free_port())
    try:
        node.start()
        yield node
    finally:
        node.kill()
        shutil.rmtree(directory, ignore_errors=True)


ARTICLES = 60


def test_a_rabbitmq_crash_mid_flow_loses_nothing_accepted(
    system: System, private_node: PrivateNode
) -> None:
    system.env["CELERY_BROKER_URL"] = private_node.url
    api = system.api()
    system.beat()
    system.worker("ingest,publish", concurrency=2)
    system.worker("deliver", concurrency=4, pool="threads")
    with running_receiver() as receiver:
        system.webhooks().subscribe(
            parse_subscription({"url": receiver.url("/crash")}, creating=True)
        )
        poster = PersistentPoster(api.client, body, ARTICLES, retry_pause=0.2, pause=0.05)
        poster.start()
        wait_until(lambda: len(poster.accepted) >= ARTICLES // 3, timeout=90)
        private_node.kill()
        crashed_at = time.monotonic()
        time.sleep(2)
        private_node.start()
        poster.join(timeout=240)
        assert not poster.is_alive()
        assert len(poster.accepted) == ARTICLES
        store = system.store()
        ids = set(poster.accepted.values())

        def everything_done() -> bool:
            stored = all((r := store.article(a)) is not None and r.version == 1 for a in ids)
            delivered = {d.article_id for d in deliveries(receiver, "/crash") if d.status == 204}
            return stored and delivered >= ids

        wait_until(everything_done, timeout=180, interval=0.5)
        recovered_in = time.monotonic() - crashed_at

        def published() -> bool:
            return _in_main_feed(system, ids)

        wait_until(published, timeout=60, interval=0.5)
    # Nobody restarted the workers, beat or the API: they reconnected by themselves.
    assert all(p.process.poll() is None for p in system.processes)
    print(
        f"\n{ARTICLES} articles accepted around a RabbitMQ crash (SIGKILL, restart), lost 0; "
        f"{poster.refused} posts refused while it was down; all stored and delivered "
        f"{recovered_in:.1f}s after the crash"
    )
