"""Operators' views of a live system: status, /metrics, /readyz, a stuck worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.settings import Settings
from feeds.api_ops import readiness
from tests.integration.conftest import (
    ROOT,
    RedisService,
    WorkerProcess,
    auth,
    service_env,
    wait_until,
)
from tests.integration.databases import other_db
from tests.integration.receiver import running_receiver
from worker.keys import Keys
from worker.status import Thresholds, gather, render
from worker.submit import Submitter

pytestmark = pytest.mark.usefixtures("worker", "io_worker", "beat")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_status_and_metrics_after_ingesting_and_delivering(
    api: httpx.Client, redis_service: RedisService
) -> None:
    tag = "ops" + uuid.uuid4().hex[:8]
    with running_receiver() as receiver:
        good, bad = (
            api.post("/v1/subscriptions", headers=auth(), json={"url": url, "tags": [tag]}).json()
            for url in (receiver.url("/ok"), receiver.url("/bad", "always:500"))
        )
        body = f"Ops {tag}\nA description.\nTags: {tag}\nPart\nWords here.\n"
        response = api.post("/v1/articles", content=body.encode(),
                            headers={**auth(), "Content-Type": "text/plain"})  # fmt: skip
        assert response.status_code == 202
        # An input the API would refuse, accepted behind its back: the worker fails it.
        broken = redis_service.store().accept(
            kind="upsert", article_id=f"broken-{tag}", received_at=time.time(),
            raw=b"  \n \n", format=None, content_type=None,
        )  # fmt: skip
        Submitter.from_settings(Settings.from_env(service_env(redis_service))).enqueue_task(
            "syndicate.ingest", broken.id
        )
        wait_until(lambda: len(receiver.received("/ok")) == 1)
        wait_until(lambda: len(receiver.received("/bad")) == 3, timeout=30)
        time.sleep(2.5)  # heartbeats and the last attempt's bookkeeping

        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", "from worker.cli import main; main()", "status", "--json"],
            env=service_env(redis_service), cwd=ROOT, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        status = json.loads(completed.stdout)
        assert completed.returncode in (0, 1), completed.stderr
        consumed = {q for w in status["workers"] if w["alive"] for q in w["queues"]}
        assert consumed >= {"ingest", "publish", "deliver"}
        assert status["articles"]["stored"] >= 1
        assert status["articles"]["outcomes"]["published"] >= 1
        assert status["articles"]["failed"] >= 1 and status["articles"]["outcomes"]["failed"] >= 1
        assert status["deliveries"]["dead_letters"] >= 1
        assert status["deliveries"]["counters"]["attempts_delivered"] >= 1
        assert status["throughput_last_minute"] >= 0
        assert status["redis"]["version"]
        assert status["postgres"]["version"] and status["postgres"]["schema_current"] is True
        print(f"syndicate status --json took {elapsed:.2f}s including interpreter start")

        text = api.get("/metrics").text
        found = samples(text)
        for queue in ("ingest", "publish", "deliver"):
            assert ("syndicate_queue_length", (("queue", queue),)) in found
            assert found[("syndicate_queue_consumers", (("queue", queue),))] >= 1
        assert found[("syndicate_task_runtime_seconds_count", (("task", "syndicate.ingest"),))] >= 1
        assert (
            found[("syndicate_task_queue_wait_seconds_count", (("task", "syndicate.ingest"),))] >= 1
        )
        assert found[("syndicate_articles_total", (("outcome", "published"),))] >= 1
        assert found[("syndicate_postgres_up", ())] == 1
        assert found[("syndicate_articles_stored", ())] >= 1
        assert found[("syndicate_articles_total", (("outcome", "failed"),))] >= 1
        assert found[("syndicate_articles_failed", ())] >= 1
        assert found[("syndicate_webhook_attempts_total", (("outcome", "failed"),))] >= 3
        assert found[("syndicate_webhook_attempt_seconds_count", (("outcome", "delivered"),))] >= 1
        assert found[("syndicate_webhook_dead_letters", ())] >= 1
        assert found[("syndicate_redis_up", ())] == 1
        assert ("syndicate_feed_publish_seconds_count", (("scope", "all"),)) in found
        for endpoint in (good, bad):
            api.delete(f"/v1/subscriptions/{endpoint['id']}", headers=auth())

    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert api.get("/healthz").json() == {"status": "ok"}


def test_a_stuck_worker_is_flagged_and_readiness_follows_the_workers(
    redis_service: RedisService, tmp_path: Path, own_broker: dict[str, str]
) -> None:
    env = service_env(redis_service, REDIS_URL=other_db(redis_service.url, 13), **own_broker)
    settings = Settings.from_env(env)
    submitter = Submitter.from_settings(settings)
    client = submitter.store.client
    client.flushdb()
    keys = Keys()
    cpu = WorkerProcess(env, queues="ingest,publish", concurrency=1)
    io = None
    try:
        wait_until(lambda: len(client.hkeys(keys.workers)) == 1, timeout=30)
        assert readiness(client, keys, time.time())["status"] == "not_ready"  # no deliver
        io = WorkerProcess(env, queues="deliver", concurrency=2, pool="threads")
        wait_until(lambda: readiness(client, keys, time.time())["status"] == "ready", timeout=30)

        # Freeze the pool: the worker stays connected and keeps beating, consumes nothing.
        children = psutil.Process(cpu.process.pid).children(recursive=True)
        for child in children:
            os.kill(child.pid, signal.SIGSTOP)
        for index in range(3):
            submitter.submit(f"Stuck {index} {uuid.uuid4().hex}\nD.\nPart\nText.\n".encode())
        limits = Thresholds(stall=2.0)

        def flagged() -> bool:
            return any(
                w["not_consuming"]
                for w in gather(
                    client, submitter.store, thresholds=limits, broker=settings.broker_url
                )["workers"]
            )

        wait_until(flagged, timeout=20, interval=0.5)
        status = gather(client, submitter.store, thresholds=limits, broker=settings.broker_url)
        assert any("alive but has finished nothing" in p for p in status["problems"])
        assert "NOT CONSUMING" in render(status)
        for child in children:
            os.kill(child.pid, signal.SIGCONT)
        wait_until(lambda: not flagged(), timeout=30, interval=0.5)

        io.stop()  # a warm shutdown leaves the list at once
        wait_until(lambda: readiness(client, keys, time.time())["status"] == "not_ready")
        assert readiness(client, keys, time.time())["queues"]["deliver"]["consumers"] == 0
    finally:
        cpu.stop()
        if io is not None:
            io.stop()
        client.flushdb()
