"""``syndicate up`` as a newcomer runs it: embedded Redis, workers, beat, API, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.conftest import ROOT, free_port, wait_until
from worker.embedded_redis import EmbeddedRedis


def test_up_serves_restarts_a_dead_child_and_stops_cleanly() -> None:
    data_dir = Path(f"/tmp/syn-up-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {"SYNDICATE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("SYNDICATE_API_TOKENS", None)
    log_path = data_dir.with_suffix(".log")
    with open(log_path, "wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-c", "from worker.cli import main; main()", "up", "--port", str(port),
             "--ingest", str(ROOT / "examples" / "everwinter-2019-ending-explained.txt")],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        example = "/v1/articles/everwinter-2019-ending-explained"
        wait_until(lambda: _published(client, example), 60, 0.2)

        token = (data_dir / "api-token").read_text().strip()
        assert client.post("/v1/articles", content=b"T\nD.\n").status_code == 401

        marker = "worker -Q ingest,publish"
        cpu_worker = _child(up.pid, marker)
        cpu_worker.send_signal(signal.SIGKILL)
        wait_until(lambda: _child_or_none(up.pid, marker) not in (None, cpu_worker), 30)

        title = f"After The Restart {uuid.uuid4().hex[:6]}"
        posted = client.post(
            "/v1/articles",
            content=f"{title}\nA description.\nPart One\nIt still works.\n".encode(),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 202
        status_url = posted.json()["status_url"]
        wait_until(lambda: client.get(status_url).json()["status"] == "published", 60, 0.2)

        descendants = psutil.Process(up.pid).children(recursive=True)
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [process.pid for process in descendants if _alive(process)] == []
        assert not EmbeddedRedis(data_dir).ping()
        log_text = log_path.read_text()
        assert "restarting in" in log_text
        assert "Warm shutdown" in log_text
    finally:
        client.close()
        if up.poll() is None:
            up.kill()
            up.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)


def _published(client: httpx.Client, path: str) -> bool:
    try:
        response = client.get(path)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json()["status"] == "published"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _child_or_none(parent: int, marker: str) -> psutil.Process | None:
    for process in psutil.Process(parent).children():
        try:
            if marker in " ".join(process.cmdline()):
                return process
        except psutil.NoSuchProcess:
            continue
    return None


def _child(parent: int, marker: str) -> psutil.Process:
    found = _child_or_none(parent, marker)
    if found is None:
        pytest.fail(f"no child process matching {marker!r}")
    return found
