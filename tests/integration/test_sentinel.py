"""REDIS_URL=sentinel://...: the store and a real worker find the master through a Sentinel."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from config.settings import Settings
from tests.integration.conftest import ROOT, free_port, ingest_one_through, wait_until
from tests.postgres import ScratchDatabases
from worker.embedded_redis import find_redis_server
from worker.submit import Submitter


def _spawn(arguments: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    binary = find_redis_server()
    master_port, sentinel_port = free_port(), free_port()
    master = _spawn([binary, "--port", str(master_port), "--bind", "127.0.0.1",
                     "--save", "", "--dir", str(tmp_path)])  # fmt: skip
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor syn-master 127.0.0.1 {master_port} 1\n"
    )
    sentinel = _spawn([binary, str(config), "--sentinel"])
    try:
        probe = redis.Redis(port=sentinel_port)
        wait_until(lambda: _answers(probe), timeout=20)
        probe.close()
        yield f"sentinel://127.0.0.1:{sentinel_port}/0"
    finally:
        for process in (sentinel, master):
            process.terminate()
            process.wait(timeout=10)


def _answers(probe: redis.Redis) -> bool:
    try:
        return (
            probe.execute_command("SENTINEL", "get-master-addr-by-name", "syn-master") is not None
        )
    except redis.ConnectionError:
        return False


def test_ingest_through_sentinel(
    sentinel_url: str, tmp_path: Path, databases: ScratchDatabases
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": databases.create("sentinel"),
        "REDIS_URL": sentinel_url,
        "SYNDICATE_REDIS_SENTINEL_MASTER": "syn-master",
        "SYNDICATE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    submitter = Submitter.from_settings(Settings.from_env(env))
    ingest_one_through(env, submitter, f"Through The Watch {uuid.uuid4().hex[:6]}")
