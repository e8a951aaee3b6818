"""A worker SIGKILLed in the middle of a delivery: the message still arrives, same id."""

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
from worker.submit import Submitter


def test_killed_mid_delivery_the_message_is_delivered_with_the_same_id(
    redis_service: RedisService, tmp_path: Path
) -> None:
    # A database of its own: no other worker of the test session may take the task.
    env = service_env(redis_service, REDIS_URL=other_db(redis_service.url, 14))
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
            print(f"delivered {recovered_in:.1f}s after the kill (visibility timeout 6s)")
            assert secret
    finally:
        for process in processes:
            process.stop()
        victim.stop()
        submitter.store.client.flushdb()
