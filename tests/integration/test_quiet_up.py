"""An idle ``syndicate up`` is quiet: one start-up summary, then (almost) nothing at INFO.

The window is measured on a real ``syndicate up`` (embedded PostgreSQL and Redis, both
workers, beat, the API) while beat ticks: the tick counter in Redis proves the system was
working, not stopped, while it stayed silent.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from tests.integration.conftest import ROOT, free_port, wait_until
from worker.embedded_redis import EmbeddedRedis
from worker.keys import Keys

WINDOW = 30.0
RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", re.MULTILINE)


def _ticks(client: redis.Redis) -> int:
    raw = client.hget(Keys().counter("tasks"), "syndicate.deliver_dispatch|SUCCESS")
    return int(raw or 0)


def test_an_idle_system_writes_at_most_one_line_a_minute() -> None:
    data_dir = Path(f"/tmp/syn-quiet-{uuid.uuid4().hex[:8]}")  # noqa: S108 - short socket path
    data_dir.mkdir(mode=0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env |= {"SYNDICATE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("SYNDICATE_API_TOKENS", None)
    out_path, err_path = data_dir / "stdout.log", data_dir / "stderr.log"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        up = subprocess.Popen(
            [sys.executable, "-c", "from worker.cli import main; main()", "up",
             "--port", str(free_port())],
            env=env, cwd=ROOT, stdout=out, stderr=err,
        )  # fmt: skip
    try:
        wait_until(lambda: "syndicate is up" in err_path.read_text(), 90, 0.2)
        client = redis.Redis.from_url(EmbeddedRedis(data_dir).url)
        wait_until(lambda: _ticks(client) > 0, 60, 0.2)  # the workers are consuming
        before_text, before_ticks = err_path.read_text(), _ticks(client)
        time.sleep(WINDOW)
        during = err_path.read_text()[len(before_text) :]
        ticks = _ticks(client) - before_ticks
        client.close()
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        startup = before_text
    finally:
        if up.poll() is None:  # a failed assertion: still stop it warmly, so that it
            up.send_signal(signal.SIGTERM)  # stops its embedded PostgreSQL and Redis
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
    stdout = out_path.read_text()
    shutil.rmtree(data_dir, ignore_errors=True)

    assert ticks >= WINDOW / 2, f"beat ticked {ticks} times in {WINDOW}s: not a live system"
    assert len(RECORD.findall(during)) <= 1, during  # at most one a minute over 30 s
    assert startup.count("syndicate is up") == 1
    assert "-------------- [queues]" not in stdout and "celery beat v" not in stdout  # banners
    for chatter in ("Sending due task", "mingle:", "Uvicorn running on", "succeeded in"):
        assert chatter not in startup + during, chatter
    if os.geteuid() == 0:  # explained once by `up`, not repeated by each worker
        assert startup.count("running as root") == 1
        assert "superuser privileges" not in startup + during
