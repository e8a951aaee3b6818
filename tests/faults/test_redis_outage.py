"""A store goes away and comes back, and everything resumes by itself.

- Redis (the queue) down: feeds are served as usual (they live in PostgreSQL), posts
  are still accepted (committed, then queued by the outbox sweep once Redis is back),
  and readiness says not ready.
- PostgreSQL (the record) down: feeds are served from the last published files (same
  bytes and ETag, 304s), writes answer 503 with a JSON error, readiness says not ready.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import (
    API_TOKEN,
    ROOT,
    ApiProcess,
    BeatProcess,
    WorkerProcess,
    wait_until,
)
from worker.database.embedded import EmbeddedPostgres
from worker.database.migrate import upgrade
from worker.embedded_redis import EmbeddedRedis

HEADERS = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "text/plain"}


def post(client: httpx.Client, title: str) -> httpx.Response:
    body = f"{title}\nA description.\nPart\nWords for {title}.\n".encode()
    return client.post("/v1/articles", content=body, headers=HEADERS)


@dataclass
class Stack:
    directory: Path
    redis: EmbeddedRedis
    postgres: EmbeddedPostgres
    env: dict[str, str]


@pytest.fixture
def stack(tmp_path: Path, broker: str | None) -> Iterator[Stack]:
    directory = Path(f"/tmp/syn-out-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    postgres = EmbeddedPostgres(directory).start()
    upgrade(postgres.url)
    redis_server = EmbeddedRedis(directory).start()
    env = {
        **os.environ, "REDIS_URL": redis_server.url, "DATABASE_URL": postgres.url,
        "SYNDICATE_DATA_DIR": str(directory),
        "SYNDICATE_PUBLIC_DIR": str(tmp_path / "public"), "SYNDICATE_API_TOKENS": API_TOKEN,
        "SYNDICATE_VISIBILITY_TIMEOUT": "6", "SYNDICATE_TASK_TIME_LIMIT": "5",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "1s", "SYNDICATE_WEBHOOK_TIMEOUT": "1.5s",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "1", "SYNDICATE_PUBLISH_DELAY_MS": "200",
        "SYNDICATE_REQUEUE_INTERVAL": "1", "SYNDICATE_INGEST_LEASE": "2s",
        "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    env.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    found = Stack(directory, redis_server, postgres, env)
    yield found
    found.redis.stop()
    found.postgres.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_a_redis_outage_keeps_feeds_and_accepts_posts(stack: Stack, tmp_path: Path) -> None:
    api = ApiProcess(stack.env)
    client = api.client
    worker = WorkerProcess(stack.env, queues="ingest,publish")
    beat = BeatProcess(stack.env, tmp_path)
    try:
        assert post(client, "Before The Outage").status_code == 202
        wait_until(lambda: b"Before The Outage" in client.get("/feeds/atom.xml").content)
        published = client.get("/feeds/atom.xml")

        stack.redis.stop()
        during = client.get("/feeds/atom.xml")
        assert during.status_code == 200 and during.content == published.content
        assert "x-syndicate-source" not in during.headers  # from the record, not the files
        accepted = post(client, "During The Outage")
        assert accepted.status_code == 202, accepted.text  # committed; queued later
        assert client.get("/readyz").status_code == 503
        assert client.get("/readyz").json()["postgres"] == "ok"

        stack.redis = EmbeddedRedis(stack.directory).start()
        wait_until(lambda: b"During The Outage" in client.get("/feeds/atom.xml").content, 60)
        assert post(client, "After The Outage").status_code == 202
        wait_until(lambda: b"After The Outage" in client.get("/feeds/atom.xml").content, 60)
    finally:
        beat.stop()
        worker.stop()
        api.stop()


def test_feeds_outlive_a_postgres_outage_and_writes_resume(stack: Stack) -> None:
    api = ApiProcess(stack.env)
    client = api.client
    worker = WorkerProcess(stack.env, queues="ingest,publish")
    try:
        assert post(client, "Before The Outage").status_code == 202
        wait_until(lambda: b"Before The Outage" in client.get("/feeds/atom.xml").content)
        published = client.get("/feeds/atom.xml", headers={"Accept-Encoding": "identity"})
        gzip_etag = client.get("/feeds/atom.xml").headers["etag"]

        stack.postgres.stop()
        during = client.get("/feeds/atom.xml")
        assert during.status_code == 200
        assert during.content == published.content
        assert during.headers["x-syndicate-source"] == "file"
        assert during.headers["etag"] == published.headers["etag"]
        for etag in (during.headers["etag"], gzip_etag):
            revalidated = client.get("/feeds/atom.xml", headers={"If-None-Match": etag})
            assert revalidated.status_code == 304
        refused = post(client, "During The Outage")
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
        assert "Traceback" not in refused.text
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert client.get("/feeds/nothing-here.xml").status_code == 503

        stack.postgres = EmbeddedPostgres(stack.directory).start()
        wait_until(lambda: post(client, "After The Outage").status_code == 202, timeout=30)
        wait_until(lambda: b"After The Outage" in client.get("/feeds/atom.xml").content, timeout=60)
        after = client.get("/feeds/atom.xml")
        assert "x-syndicate-source" not in after.headers  # served from the record again
    finally:
        worker.stop()
        api.stop()
