"""A SIGKILLed worker and a restarted Redis lose nothing and duplicate nothing.

Each test runs its own embedded Redis, so no other worker can pick up its tasks.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from config.settings import Settings
from tests.integration.conftest import ROOT, BeatProcess, WorkerProcess, wait_until
from tests.postgres import ScratchDatabases
from worker.database.connect import Database
from worker.embedded_redis import EmbeddedRedis
from worker.store import Store
from worker.submit import Submitter


@pytest.fixture
def private_redis() -> Iterator[EmbeddedRedis]:
    directory = Path(f"/tmp/syn-rel-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    server = EmbeddedRedis(directory).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database_url(databases: ScratchDatabases) -> str:
    return databases.create("reliability")


def env_for(server: EmbeddedRedis, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": server.url,
        "DATABASE_URL": database_url,
        "SYNDICATE_DATA_DIR": str(server.data_dir),
        "SYNDICATE_VISIBILITY_TIMEOUT": "6",
        "SYNDICATE_TASK_TIME_LIMIT": "5",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "1s",
        "SYNDICATE_WEBHOOK_TIMEOUT": "1.5s",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "1",
        "PYTHONPATH": str(ROOT),
    }


def small_article(index: int, tag: str) -> bytes:
    return (
        f"Night Ferry {tag} {index}\nA short one.\nAuthor: Iva Moss\n"
        f"The Crossing\nThe ferry leaves at {index} past midnight. Nobody speaks on deck.\n"
    ).encode()


def big_article(tag: str) -> bytes:
    paragraph = "The archive hums in the dark, and every drawer holds a different winter. " * 12
    sections = "\n".join(f"Drawer {number}\n{paragraph}" for number in range(1, 900))
    return f"The Long Archive {tag}\nA very long one.\n{sections}\n".encode()


def events_by_article(store: Store) -> dict[str, int]:
    with store.db.connection() as conn:
        rows = conn.execute("SELECT article_id, count(*) FROM events GROUP BY article_id")
        return {str(article_id): int(count) for article_id, count in rows.fetchall()}


def test_a_sigkilled_worker_s_task_completes_exactly_once(
    private_redis: EmbeddedRedis, database_url: str, own_broker: dict[str, str]
) -> None:
    env = {**env_for(private_redis, database_url), **own_broker}
    settings = Settings.from_env(env)
    submitter = Submitter.from_settings(settings)
    store = submitter.store
    tag = uuid.uuid4().hex[:6]
    big = submitter.submit(big_article(tag))
    small = [submitter.submit(small_article(index, tag)) for index in range(20)]

    first = WorkerProcess(env, queues="ingest")
    try:
        wait_until(
            lambda: _status(store, big.submission_id) == "processing", timeout=60, interval=0.005
        )
        first.kill()
    finally:
        first.stop()
    killed_at = time.monotonic()
    assert _status(store, big.submission_id) == "processing", "the kill must interrupt the task"

    second = WorkerProcess(env, queues="ingest")
    try:
        every = [big, *small]
        wait_until(
            lambda: all(_status(store, item.submission_id) == "done" for item in every), timeout=110
        )
        recovered_in = time.monotonic() - killed_at
    finally:
        second.stop()

    events = events_by_article(store)
    for item in every:
        record = store.article(item.article_id)
        assert record is not None
        assert record.version == 1
        assert len(record.history) == 1
        assert events[item.article_id] == 1
    assert recovered_in < 120
    print(f"recovered {len(every)} articles {recovered_in:.1f}s after the SIGKILL")


def test_a_whole_worker_sigkilled_with_production_timeouts_recovers_within_30s(
    private_redis: EmbeddedRedis, database_url: str, tmp_path: Path
) -> None:
    """Production settings (visibility timeout 90 s): the broker alone would hand the
    killed task back after 90 s; the outbox sweep re-queues it after the ingest lease."""
    env = {
        **env_for(private_redis, database_url),
        "SYNDICATE_VISIBILITY_TIMEOUT": "90", "SYNDICATE_TASK_TIME_LIMIT": "60",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "5s", "SYNDICATE_WEBHOOK_TIMEOUT": "15s",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "5",
    }  # fmt: skip
    for name in ("SYNDICATE_INGEST_LEASE", "SYNDICATE_REQUEUE_INTERVAL"):
        env.pop(name, None)  # their defaults: 15 s and 5 s
    submitter = Submitter.from_settings(Settings.from_env(env))
    store = submitter.store
    tag = uuid.uuid4().hex[:6]
    big = submitter.submit(big_article(tag))
    small = [submitter.submit(small_article(index, tag)) for index in range(10)]
    beat = BeatProcess(env, tmp_path)
    first = WorkerProcess(env, queues="ingest")
    try:
        wait_until(
            lambda: _status(store, big.submission_id) == "processing", timeout=60, interval=0.005
        )
        first.kill()
        killed_at = time.monotonic()
        second = WorkerProcess(env, queues="ingest")
        try:
            every = [big, *small]
            wait_until(
                lambda: all(_status(store, i.submission_id) == "done" for i in every), timeout=60
            )
            recovered_in = time.monotonic() - killed_at
        finally:
            second.stop()
    finally:
        first.stop()
        beat.stop()
    assert recovered_in <= 30, recovered_in
    print(f"whole worker SIGKILLed (visibility timeout 90 s): recovered {recovered_in:.1f}s later")


def test_articles_accepted_before_a_redis_restart_are_all_processed(database_url: str) -> None:
    directory = Path(f"/tmp/syn-aof-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    server = EmbeddedRedis(directory).start()
    env = env_for(server, database_url)
    tag = uuid.uuid4().hex[:6]
    try:
        submitter = Submitter.from_settings(Settings.from_env(env))
        accepted = [submitter.submit(small_article(index, tag)) for index in range(30)]
        submitter.store.client.close()
    finally:
        server.stop()
    assert not server.ping()

    restarted = EmbeddedRedis(directory).start()
    worker = WorkerProcess(env, queues="ingest")
    try:
        store = Store(Database(database_url), redis.Redis.from_url(restarted.url))
        wait_until(
            lambda: all(_status(store, item.submission_id) == "done" for item in accepted),
            timeout=60,
        )
        versions = [store.article(item.article_id) for item in accepted]
        assert all(record is not None and record.version == 1 for record in versions)
        store.client.close()
        store.db.close()
    finally:
        worker.stop()
        restarted.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_an_embedded_redis_already_running_is_reused(private_redis: EmbeddedRedis) -> None:
    second = EmbeddedRedis(private_redis.data_dir).start()
    assert not second.owned
    second.stop()
    assert private_redis.ping()


def _status(store: Store, submission_id: str) -> str | None:
    submission = store.submission(submission_id)
    return None if submission is None else submission.status
