"""A worker stopped (SIGTERM, a deploy) while a request is in flight records its
outcome before it goes: the message is delivered once, not left to its lease."""

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


def test_a_stopping_worker_records_the_attempt_it_has_in_flight(
    redis_service: RedisService,
    databases: ScratchDatabases,
    tmp_path: Path,
    own_broker: dict[str, str],
) -> None:
    # Databases of its own: no other worker of the test session may take the task. A
    # long lease, so that only the stopping worker can have recorded the delivery.
    env = service_env(
        redis_service,
        REDIS_URL=other_db(redis_service.url, 15),
        DATABASE_URL=databases.create("drain"),
        SYNDICATE_WEBHOOK_CONNECT_TIMEOUT="5s",
        SYNDICATE_WEBHOOK_TIMEOUT="15s",
        SYNDICATE_VISIBILITY_TIMEOUT="90",
        SYNDICATE_TASK_TIME_LIMIT="60",
        **own_broker,
    )
    settings = Settings.from_env(env)
    submitter = Submitter.from_settings(settings)
    submitter.store.client.flushdb()
    webhooks = Webhooks(submitter.store, settings)
    processes = [WorkerProcess(env, queues="ingest,publish"), BeatProcess(env, tmp_path)]
    stopping = WorkerProcess(env, queues="deliver", concurrency=4, pool="threads")
    try:
        with running_receiver() as receiver:
            url = receiver.url("/drain", "slow:3")  # answers 204 after 3 s
            endpoint, _ = webhooks.subscribe(parse_subscription({"url": url}, creating=True))
            title = f"Drained {uuid.uuid4().hex[:8]}"
            submitter.submit(f"{title}\nA description.\nPart\nIt arrives.\n".encode())
            wait_until(lambda: receiver.begun("/drain") >= 1, timeout=30)
            time.sleep(1.0)  # the deliver task has returned (it waits 0.5 s at most)
            stopped_at = time.monotonic()
            stopping.stop()  # SIGTERM: a warm shutdown
            took = time.monotonic() - stopped_at
            [message] = webhooks.store.messages(endpoint_id=endpoint.id)
            assert message.status == "delivered", message
            assert message.attempts == 1
            assert receiver.begun("/drain") == 1
            assert took < 10, took
    finally:
        stopping.stop()
        for process in processes:
            process.stop()
        submitter.store.client.flushdb()
