"""A worker SIGKILLed in the middle of a delivery, or Redis wiped while a retry waits:
the message still arrives, with the same id."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import (
    BeatProcess,
    RedisService,
    WorkerProcess,
    service_env,
    wait_until,
)
from tests.integration.databases import other_db
from tests.integration.receiver import running_receiver
from tests.postgres import ScratchDatabases
from worker.submit import Submitter


def test_killed_mid_delivery_the_message_is_delivered_with_the_same_id(
    redis_service: RedisService,
    databases: ScratchDatabases,
    tmp_path: Path,
    own_broker: dict[str, str],
) -> None:
    recovered_in = _kill_mid_delivery(redis_service, databases, tmp_path, **own_broker)
    print(f"delivered {recovered_in:.1f}s after the kill (visibility timeout 6s)")


def test_killed_mid_delivery_with_production_timeouts_recovers_within_30s(
    redis_service: RedisService,
    databases: ScratchDatabases,
    tmp_path: Path,
    own_broker: dict[str, str],
) -> None:
    """Production settings: the broker alone would hand the task back after the 90 s
    visibility timeout; the message's lease (connect + request timeouts + 5 s) does."""
    production = {
        "SYNDICATE_VISIBILITY_TIMEOUT": "90", "SYNDICATE_TASK_TIME_LIMIT": "60",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "5s", "SYNDICATE_WEBHOOK_TIMEOUT": "15s",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "5", "SYNDICATE_DELIVERY_TICK": "1s",
    }  # fmt: skip
    recovered_in = _kill_mid_delivery(
        redis_service, databases, tmp_path, **production, **own_broker
    )
    print(f"delivered {recovered_in:.1f}s after the kill (visibility timeout 90s, lease 25s)")
    assert recovered_in <= 30, recovered_in


def _kill_mid_delivery(
    redis_service: RedisService, databases: ScratchDatabases, tmp_path: Path, **settings: str
) -> float:
    """SIGKILL the I/O worker while its request is held; seconds until the message
    arrives, with the same id, through a fresh worker."""
    # Databases of its own: no other worker of the test session may take the task.
    env = service_env(
        redis_service,
        REDIS_URL=other_db(redis_service.url, 14),
        DATABASE_URL=databases.create("kill"),
        **settings,
    )
    settings = Settings.from_env(env)
    submitter = Submitter.from_settings(settings)
    submitter.store.client.flushdb()
    webhooks = Webhooks(submitter.store, settings)
    processes = [WorkerProcess(env, queues="ingest,publish"), BeatProcess(env, tmp_path)]
    victim = WorkerProcess(env, queues="deliver", concurrency=4, pool="threads")
    try:
        with running_receiver() as receiver:
            # The first request is held longer than the worker lives.
            url = receiver.url("/kill", "hold:30")
            changes = parse_subscription({"url": url}, creating=True)
            endpoint, secret = webhooks.subscribe(changes)
            title = f"Killed {uuid.uuid4().hex[:8]}"
            submitter.submit(f"{title}\nA description.\nPart\nIt arrives.\n".encode())
            wait_until(lambda: receiver.begun("/kill") >= 1, timeout=30)
            victim.kill()
            killed_at = time.monotonic()
            processes.append(WorkerProcess(env, queues="deliver", concurrency=4, pool="threads"))
            wait_until(lambda: len(receiver.received("/kill")) >= 1, timeout=60)
            recovered_in = time.monotonic() - killed_at
            [delivered] = [r for r in receiver.received("/kill") if r.status == 204]
            message = webhooks.store.messages(endpoint_id=endpoint.id)[0]
            assert delivered.headers["webhook-id"] == message.id
            wait_until(lambda: webhooks.message(message.id).status == "delivered")
            assert secret
    finally:
        for process in processes:
            process.stop()
        victim.stop()
        submitter.store.client.flushdb()
    return recovered_in


def test_redis_wiped_while_a_retry_waits_the_message_is_still_delivered(
    redis_service: RedisService,
    databases: ScratchDatabases,
    tmp_path: Path,
    own_broker: dict[str, str],
) -> None:
    # The retry comes 4 s (+-20 %) after the first attempt: well after the wipe.
    env = service_env(
        redis_service,
        REDIS_URL=other_db(redis_service.url, 14),
        DATABASE_URL=databases.create("wipe"),
        SYNDICATE_WEBHOOK_RETRY_SCHEDULE="0,4s,8s",
        **own_broker,
    )
    settings = Settings.from_env(env)
    submitter = Submitter.from_settings(settings)
    client = submitter.store.client
    client.flushdb()
    webhooks = Webhooks(submitter.store, settings)
    processes = [
        WorkerProcess(env, queues="ingest,publish"),
        BeatProcess(env, tmp_path),
        WorkerProcess(env, queues="deliver", concurrency=4, pool="threads"),
    ]
    try:
        with running_receiver() as receiver:
            url = receiver.url("/wipe", "always:500")
            endpoint, _ = webhooks.subscribe(parse_subscription({"url": url}, creating=True))
            title = f"Wiped {uuid.uuid4().hex[:8]}"
            submitter.submit(f"{title}\nA description.\nPart\nIt arrives.\n".encode())
            wait_until(lambda: len(webhooks.store.messages(endpoint_id=endpoint.id)) == 1)
            [message] = webhooks.store.messages(endpoint_id=endpoint.id)

            def waiting_for_the_retry() -> bool:
                found = webhooks.message(message.id)
                return found.status == "scheduled" and found.attempts == 1

            wait_until(waiting_for_the_retry, timeout=30)
            # Everything of syndicate's in Redis goes: queues, unacknowledged tasks, flags.
            # Celery's queue bindings stay (a FLUSHALL under running workers also drops
            # them, and kombu declares them again only when a worker reconnects).
            for key in client.scan_iter(count=1000):
                if not key.startswith(b"_kombu.binding."):
                    client.delete(key)
            wiped_at = time.time()
            receiver.behave("/wipe", "ok")
            wait_until(lambda: webhooks.message(message.id).status == "delivered", timeout=30)
            requests = receiver.received("/wipe")
            assert [r.status for r in requests] == [500, 204]
            assert requests[1].at > wiped_at
            assert {r.headers["webhook-id"] for r in requests} == {message.id}
            # Redis holds no webhook record: at most the dispatch flag.
            left = [key.decode() for key in client.scan_iter(count=1000)]
            assert not [k for k in left if endpoint.id in k or message.id in k]
            assert {k for k in left if ":wh:" in k} <= {"syn:wh:dispatch:scheduled"}
    finally:
        for process in processes:
            process.stop()
        client.flushdb()
