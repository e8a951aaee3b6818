"""What the end-to-end benchmarks share: sample articles, a private embedded Redis and
PostgreSQL, Celery command lines, polling.

Light to import (the fan-out bench's receiver process imports it too): the project's
modules are imported where they are used.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.database.embedded import EmbeddedPostgres
    from worker.embedded_redis import EmbeddedRedis

REPO_ROOT = Path(__file__).resolve().parent.parent

PARAGRAPHS = [
    "The ferry leaves before dawn, and the harbour is still dark when the engines start.",
    "Nobody on deck admits to knowing the captain, though everyone has heard the stories.",
    "By noon the fog has closed in, and the radio answers only with static and old songs.",
    "The cook keeps a ledger of every meal, which later proves to be the only honest record.",
]


def article(
    index: int, run: str, title: str = "Crossing", blurb: str = "A short feature for the benchmark."
) -> bytes:
    """Article ``index`` of a run: five parts of three paragraphs, with metadata."""
    body = "\n".join(
        f"Part {part}\n" + " ".join(PARAGRAPHS[(index + part + k) % 4] for k in range(3))
        for part in range(1, 6)
    )
    return (
        f"{title} {run} Number {index}\n{blurb}\n"
        f"Release Year: {1950 + index % 70}\nRating: {index % 10}.5/10\n"
        f"Author: Writer {index % 7}\n"
        f"{body}\n"
    ).encode()


class PrivateStack:
    """An embedded Redis and an embedded, migrated PostgreSQL in one fresh directory."""

    def __init__(self, directory: Path) -> None:
        from worker.database.embedded import EmbeddedPostgres
        from worker.database.migrate import upgrade
        from worker.embedded_redis import EmbeddedRedis

        self.data_dir = directory
        self.postgres: EmbeddedPostgres = EmbeddedPostgres(directory).start()
        upgrade(self.postgres.url)
        self.redis: EmbeddedRedis = EmbeddedRedis(directory).start()
        self.url = self.redis.url
        self.database_url = self.postgres.url

    def stop(self) -> None:
        """Stop both servers and remove their directory (a bench's data is throwaway)."""
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def private_redis(name: str) -> tuple[PrivateStack, dict[str, str]]:
    """A fresh embedded Redis and PostgreSQL under ``/tmp/syn-<name>-<random>``, and an
    environment for this process's settings and the workers it starts."""
    stack = PrivateStack(Path(f"/tmp/syn-{name}-{uuid.uuid4().hex[:8]}"))  # noqa: S108
    env = {**os.environ, "REDIS_URL": stack.url, "DATABASE_URL": stack.database_url,
           "SYNDICATE_DATA_DIR": str(stack.data_dir), "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    return stack, env


def celery(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config.celery_app", *arguments]


def celery_worker(queues: str, pool: str, concurrency: int, *options: str) -> list[str]:
    """A worker's command line, without the chatter the benches do not need."""
    return celery("worker", "-Q", queues, "-P", pool, "-c", str(concurrency), *options,
                  "--without-gossip", "--without-mingle", "--without-heartbeat")  # fmt: skip


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.005) -> None:
    """Poll ``predicate`` every ``interval`` seconds. A timed run polls every 20 ms or
    so: polling the database every 5 ms took a measurable share of two cores."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the worker")
        time.sleep(interval)
