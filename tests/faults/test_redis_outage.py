"""Redis goes away and comes back: writes answer 503, feeds keep being served from the
last published files, and everything resumes by itself."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import httpx

from tests.integration.conftest import API_TOKEN, ROOT, ApiProcess, WorkerProcess, wait_until
from worker.embedded_redis import EmbeddedRedis

HEADERS = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "text/plain"}


def post(client: httpx.Client, title: str) -> httpx.Response:
    body = f"{title}\nA description.\nPart\nWords for {title}.\n".encode()
    return client.post("/v1/articles", content=body, headers=HEADERS)


def test_feeds_outlive_a_redis_outage_and_writes_resume(tmp_path: Path) -> None:
    directory = Path(f"/tmp/syn-out-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    server = EmbeddedRedis(directory).start()
    env = {
        **os.environ, "REDIS_URL": server.url, "SYNDICATE_DATA_DIR": str(directory),
        "SYNDICATE_PUBLIC_DIR": str(tmp_path / "public"), "SYNDICATE_API_TOKENS": API_TOKEN,
        "SYNDICATE_VISIBILITY_TIMEOUT": "6", "SYNDICATE_TASK_TIME_LIMIT": "5",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "1s", "SYNDICATE_WEBHOOK_TIMEOUT": "1.5s",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "1", "SYNDICATE_PUBLISH_DELAY_MS": "200",
        "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    api = ApiProcess(env)
    client = api.client
    worker = WorkerProcess(env, queues="ingest,publish")
    try:
        assert post(client, "Before The Outage").status_code == 202
        wait_until(lambda: b"Before The Outage" in client.get("/feeds/atom.xml").content)
        published = client.get("/feeds/atom.xml", headers={"Accept-Encoding": "identity"})
        gzip_etag = client.get("/feeds/atom.xml").headers["etag"]

        server.stop()
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
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert client.get("/feeds/nothing-here.xml").status_code == 503

        server = EmbeddedRedis(directory).start()
        wait_until(lambda: post(client, "After The Outage").status_code == 202, timeout=30)
        wait_until(lambda: b"After The Outage" in client.get("/feeds/atom.xml").content, timeout=60)
        after = client.get("/feeds/atom.xml")
        assert "x-syndicate-source" not in after.headers  # served from Redis again
    finally:
        worker.stop()
        api.stop()
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
