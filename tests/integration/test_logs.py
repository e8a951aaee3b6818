"""Structured logs of real processes: a Celery worker and the HTTP server, in JSON.

These run on a private embedded Redis: the session's shared workers (``worker``,
``io_worker``) would otherwise take this test's tasks and write the lines elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import (
    API_TOKEN,
    ROOT,
    RedisService,
    WorkerProcess,
    free_port,
    service_env,
    wait_until,
)
from tests.postgres import ScratchDatabases
from worker.embedded_redis import EmbeddedRedis
from worker.submit import Submitter

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
Entry = dict[str, object]


@pytest.fixture(scope="module")
def private_redis(databases: ScratchDatabases) -> Iterator[RedisService]:
    directory = Path(f"/tmp/syn-logs-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    embedded = EmbeddedRedis(directory).start()
    try:
        yield RedisService(embedded.url, directory, embedded, databases.create("logs"))
    finally:
        embedded.stop()
        shutil.rmtree(directory, ignore_errors=True)


class LoggedWorker(WorkerProcess):
    """A real worker at ``--loglevel INFO`` whose stderr goes to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, queues: str) -> None:
        self.log_file = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-Q", queues,
             "-P", "prefork", "-c", "1", "-n", f"logs-{uuid.uuid4().hex[:6]}@%h",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            env=env, cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL,  # the start-up banner
            stderr=self.log_file,
        )  # fmt: skip

    def stop(self) -> None:
        super().stop()
        self.log_file.close()


def complete_lines(path: Path) -> list[str]:
    """The lines written so far, without a last one still being written."""
    text = path.read_text(encoding="utf-8")
    return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]


def parse_lines(lines: list[str]) -> list[Entry]:
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def logged(path: Path, predicate: dict[str, object]) -> bool:
    """Whether a complete line so far has all the given fields."""
    for line in complete_lines(path):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if all(entry.get(key) == value for key, value in predicate.items()):
            return True
    return False


def test_worker_lines_are_json_with_context_and_never_a_secret(
    private_redis: RedisService, tmp_path: Path, own_broker: dict[str, str]
) -> None:
    env = service_env(private_redis, SYNDICATE_LOG_FORMAT="json", **own_broker)
    settings = Settings.from_env(env)
    webhooks = Webhooks(private_redis.store(), settings)
    endpoint, secret = webhooks.subscribe(
        parse_subscription({"url": "http://127.0.0.1:9/x"}, creating=True)
    )
    # The secret in the URL path: the failed attempt's reason (logged) quotes the URL.
    webhooks.update(
        endpoint.id, parse_subscription({"url": f"http://127.0.0.1:9/h/{secret}"}, creating=False)
    )
    hub_secret = "hub-" + uuid.uuid4().hex
    log_path = tmp_path / "worker.log"
    worker = LoggedWorker(env, log_path, queues="ingest,publish,deliver")
    try:
        submitter = Submitter.from_settings(settings)
        title = f"Logged article {uuid.uuid4().hex[:8]}"
        accepted = submitter.submit(f"{title}\nA description.\nPart\nIt arrives.\n".encode())
        # A WebSub request holding a hub.secret, whose callback (quoted in the failed GET's
        # line) holds the API token.
        submitter.enqueue_task("syndicate.websub_verify", {
            "mode": "subscribe", "topic": "http://127.0.0.1:9/feeds/none.xml",
            "callback": f"http://127.0.0.1:9/cb?state={API_TOKEN}", "secret": hub_secret,
            "lease_seconds": 60,
        })  # fmt: skip
        wait_until(lambda: logged(log_path, {"endpoint_id": endpoint.id}), timeout=30)
        wait_until(
            lambda: logged(log_path, {"logger": "celery.app.trace",
                                      "task_name": "syndicate.websub_verify"}),
            timeout=15,
        )  # fmt: skip
    finally:
        worker.stop()

    raw = log_path.read_text(encoding="utf-8")
    entries = parse_lines(raw.splitlines())
    assert raw.endswith("\n")
    for entry in entries:
        assert {"time", "level", "logger", "process", "pid", "message"} <= entry.keys(), entry
        assert RFC3339_MS.match(str(entry["time"])), entry
        assert entry["process"] == "worker", entry

    # The ingest line, with its article, version, submission and task.
    (ingested,) = [
        e for e in entries
        if e["logger"] == "worker.ingest" and e.get("article_id") == accepted.article_id
    ]  # fmt: skip
    assert ingested["version"] == 1
    assert ingested["submission_id"] == accepted.submission_id
    assert ingested["task_name"] == "syndicate.ingest"
    ingest_task = ingested["task_id"]
    assert isinstance(ingest_task, str) and ingest_task
    # Celery's own lines about that task carry its id too.
    about_task = [e for e in entries if e.get("task_id") == ingest_task]
    assert any("received" in str(e["message"]) for e in about_task)
    assert any(
        e["logger"] == "celery.app.trace" and "succeeded" in str(e["message"]) for e in about_task
    )

    # The delivery attempt (the "delivery id" is the webhook message id).
    attempts = [e for e in entries if e.get("endpoint_id") == endpoint.id]
    assert attempts
    for attempt in attempts:
        assert attempt["logger"] == "feeds.webhooks.service"
        assert attempt["article_id"] == accepted.article_id
        assert str(attempt["message_id"]).startswith("msg_")
        # The task that made it: a dispatch sends its first messages itself.
        assert attempt["task_name"] in ("syndicate.deliver_dispatch", "syndicate.deliver")
        assert attempt["task_id"]

    # Every line about the article is tied to the task that wrote it.
    for entry in entries:
        if entry.get("article_id") == accepted.article_id or accepted.article_id in str(
            entry["message"]
        ):
            assert entry.get("task_id"), entry

    # Secrets: the webhook secret (whole and its base64 part), the API token, the hub.secret.
    for leaked in (secret, secret.removeprefix("whsec_"), API_TOKEN, hub_secret):
        assert leaked not in raw
    assert "whsec_[REDACTED]" in raw  # the secret was there to redact
    assert "state=[REDACTED]" in raw


def test_the_http_server_and_uvicorn_write_json_lines(
    private_redis: RedisService, tmp_path: Path
) -> None:
    port = free_port()
    stderr_path, stdout_path = tmp_path / "api.err", tmp_path / "api.out"
    with stderr_path.open("wb") as stderr, stdout_path.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "feeds.api:build_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"],
            env=service_env(private_redis, SYNDICATE_LOG_FORMAT="json"),
            cwd=ROOT, stdout=stdout, stderr=stderr,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.1)
                client.get(f"/healthz?state={API_TOKEN}")
                client.post("/v1/articles", headers={"Authorization": "Bearer wrong"})
        finally:
            process.terminate()
            process.wait(timeout=10)

    raw = stderr_path.read_text(encoding="utf-8")
    entries = parse_lines(raw.splitlines())
    assert {e["process"] for e in entries} == {"api"}
    loggers = {e["logger"] for e in entries}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers
    assert any("Application startup complete" in str(e["message"]) for e in entries)
    assert any(
        e["logger"] == "uvicorn.access" and "/healthz?state=[REDACTED]" in str(e["message"])
        for e in entries
    )
    assert API_TOKEN not in raw
    assert stdout_path.read_text() == ""  # uvicorn's access log is taken over, not on stdout
    assert os.path.getsize(stderr_path) > 0
