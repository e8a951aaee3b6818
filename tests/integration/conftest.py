"""Real services for integration tests: PostgreSQL, Redis, Celery workers, the HTTP server.

PostgreSQL: a database of the session's own (see ``tests/postgres.py``). With no
``REDIS_URL``, a private embedded Redis runs in a temporary directory for the
session. With ``REDIS_URL`` set, that server is used on database
``SYNDICATE_TEST_REDIS_DB`` (default 15), flushed once at the start. Tests isolate
themselves with unique article titles rather than flushing between tests, because
flushing would also drop Celery's queue bindings under a running worker.
Each test runs twice: with the session's Celery processes on that Redis, then on a
private RabbitMQ vhost (see ``tests/conftest.py`` and ``tests/rabbitmq.py``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from config.settings import Settings
from tests.postgres import ScratchDatabases
from tests.rabbitmq import private_vhost
from worker.database.connect import Database
from worker.embedded_redis import EmbeddedRedis
from worker.store import Store
from worker.submit import Submitter

ROOT = Path(__file__).resolve().parents[2]
API_TOKEN = "test-token-" + uuid.uuid4().hex


_DATABASES: dict[str, Database] = {}


@dataclass
class RedisService:
    """The session's Redis, and the PostgreSQL database its processes use beside it."""

    url: str
    data_dir: Path
    embedded: EmbeddedRedis | None
    database_url: str = ""
    broker_url: str = ""  # Celery's RabbitMQ, when it is not this Redis

    def database(self) -> Database:
        """One pool for the test process (pools are meant to live as long as it)."""
        if self.database_url not in _DATABASES:
            _DATABASES[self.database_url] = Database(self.database_url)
        return _DATABASES[self.database_url]

    def store(self) -> Store:
        return Store(self.database(), self.client())

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _private_db_url(url: str) -> str:
    parts = urlsplit(url)
    database = os.environ.get("SYNDICATE_TEST_REDIS_DB", "15")
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=f"db={database}"))
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def redis_service(
    tmp_path_factory: pytest.TempPathFactory, databases: ScratchDatabases, session_broker: str
) -> Iterator[RedisService]:
    data_dir = tmp_path_factory.mktemp("syndicate-data")
    database_url = databases.create("session")
    given = os.environ.get("REDIS_URL")
    if given:
        service = RedisService(_private_db_url(given), data_dir, None, database_url, session_broker)
        service.client().flushdb()
        yield service
        return
    # Unix socket paths are limited to ~100 bytes; keep the server's directory short.
    short_dir = Path(f"/tmp/syn-test-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    embedded = EmbeddedRedis(short_dir).start()
    try:
        yield RedisService(embedded.url, short_dir, embedded, database_url, session_broker)
    finally:
        embedded.stop()
        shutil.rmtree(short_dir, ignore_errors=True)


@pytest.fixture
def own_broker(redis_service: RedisService) -> Iterator[dict[str, str]]:
    """For a test's processes on Redis and database of their own: on RabbitMQ, a vhost
    of their own too (``service_env(..., **own_broker)``), or the session's workers,
    which share the session's vhost, would take their tasks."""
    if not redis_service.broker_url:
        yield {}
        return
    with private_vhost() as url:
        yield {"CELERY_BROKER_URL": url}


def service_env(redis_service: RedisService, **extra: str) -> dict[str, str]:
    """Environment for child processes of the tests."""
    env = {
        **os.environ,
        "REDIS_URL": redis_service.url,
        "DATABASE_URL": redis_service.database_url,
        "SYNDICATE_DATA_DIR": str(redis_service.data_dir),
        "SYNDICATE_API_TOKENS": API_TOKEN,
        "SYNDICATE_VISIBILITY_TIMEOUT": "6",
        "SYNDICATE_TASK_TIME_LIMIT": "5",
        "SYNDICATE_UNACKED_RESTORE_INTERVAL": "1",
        "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "SYNDICATE_PUBLISH_DELAY_MS": "300",
        # Webhook delivery compressed to seconds (production: 0,5s,5m,...,10h).
        "SYNDICATE_WEBHOOK_RETRY_SCHEDULE": "0,1s,2s",
        "SYNDICATE_WEBHOOK_RETRY_AFTER_MIN": "1s",
        "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "1s",
        "SYNDICATE_WEBHOOK_TIMEOUT": "1.5s",
        "SYNDICATE_DELIVERY_TICK": "0.5s",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CELERY_BROKER_URL", None)
    if redis_service.broker_url:
        env["CELERY_BROKER_URL"] = redis_service.broker_url
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def settings(redis_service: RedisService) -> Settings:
    return Settings.from_env(service_env(redis_service))


@pytest.fixture(scope="session")
def store(redis_service: RedisService) -> Store:
    return redis_service.store()


@pytest.fixture(scope="session")
def submitter(settings: Settings) -> Submitter:
    return Submitter.from_settings(settings)


def stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM a child's process group, then SIGKILL it if it outlives ``timeout``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class WorkerProcess:
    """A real ``celery worker`` process (prefork pool) in its own process group."""

    def __init__(
        self, env: dict[str, str], queues: str = "ingest,publish", concurrency: int = 1,
        pool: str = "prefork",
    ):  # fmt: skip
        name = f"test-{uuid.uuid4().hex[:6]}@%h"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-Q", queues,
             "-P", pool, "-c", str(concurrency), "-n", name, "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,  # the start-up banner; errors still reach stderr
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, like a crashed machine."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_group(self.process, timeout=30)


@pytest.fixture
def start_worker(redis_service: RedisService) -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def start(**extra: str) -> WorkerProcess:
        worker = WorkerProcess(service_env(redis_service, **extra))
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="session")
def worker(redis_service: RedisService) -> Iterator[WorkerProcess]:
    process = WorkerProcess(service_env(redis_service), concurrency=2)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def io_worker(redis_service: RedisService) -> Iterator[WorkerProcess]:
    """A worker on the I/O queue (deliveries, WebSub), thread pool as in production."""
    process = WorkerProcess(
        service_env(redis_service), queues="deliver", concurrency=8, pool="threads"
    )
    yield process
    process.stop()


class BeatProcess:
    """A real ``celery beat`` (the scheduler that promotes due deliveries)."""

    def __init__(self, env: dict[str, str], schedule_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat",
             "-s", str(schedule_dir / f"beat-{uuid.uuid4().hex[:6]}"), "--loglevel", "WARNING"],
            env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        stop_group(self.process, timeout=10)


@pytest.fixture(scope="session")
def beat(redis_service: RedisService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    process = BeatProcess(service_env(redis_service), tmp_path_factory.mktemp("beat"))
    yield
    process.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiProcess:
    """The real HTTP API (uvicorn) in a child process, with a client for it."""

    def __init__(self, env: dict[str, str]) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "feeds.api:build_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 30
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                pytest.fail("the HTTP server did not start")
            time.sleep(0.1)

    def answers(self) -> bool:
        try:
            return self.client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.client.close()
        stop_group(self.process, timeout=10)


@pytest.fixture(scope="session")
def api(redis_service: RedisService) -> Iterator[httpx.Client]:
    """The real HTTP server for the session, and a client for it."""
    process = ApiProcess(service_env(redis_service, SYNDICATE_MAX_REQUEST_BYTES="2000000"))
    yield process.client
    process.stop()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


def wait_until(
    predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


def ingest_one_through(env: dict[str, str], submitter: Submitter, title: str) -> None:
    """Submit one article and have a real worker (started with ``env``) store it as v1."""
    accepted = submitter.submit(f"{title}\nA description.\nPart\nIt arrives.\n".encode())
    worker = WorkerProcess(env, queues="ingest")
    try:

        def done() -> bool:
            submission = submitter.store.submission(accepted.submission_id)
            return submission is not None and submission.status == "done"

        wait_until(done, timeout=60)
        record = submitter.store.article(accepted.article_id)
        assert record is not None
        assert record.version == 1
    finally:
        worker.stop()
