"""A whole syndicate on a Redis and a database of its own, for fault tests that break things.

Each test runs once per broker (see ``tests/conftest.py``). It gets its own embedded
Redis (AOF on, as in production) in a short temporary directory, its own PostgreSQL
database on the session's test server and, on RabbitMQ, a vhost of its own, so it can
kill, restart or stop Redis without touching the session's servers, and starts exactly
the processes it needs: workers, beat, API. Every process is stopped at the end,
whatever the test did to it.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import httpx
import pytest
import redis

from config.settings import Settings
from feeds.publish import Publisher, feed_folder
from feeds.render import ENTRY_NAMESPACE
from feeds.webhooks.service import Webhooks
from tests.conftest import brokers_for
from tests.integration.conftest import (
    API_TOKEN,
    ApiProcess,
    BeatProcess,
    RedisService,
    WorkerProcess,
    service_env,
)
from tests.integration.receiver import Receiver
from tests.postgres import ScratchDatabases
from tests.rabbitmq import private_vhost
from worker.database.connect import Database
from worker.embedded_redis import EmbeddedRedis
from worker.store import Store
from worker.submit import Submitter

HEADERS = {"Authorization": f"Bearer {API_TOKEN}"}


@dataclass
class System:
    """Processes around one private Redis; ``env`` is what every child process gets."""

    directory: Path
    redis: EmbeddedRedis
    env: dict[str, str]
    database_url: str
    processes: list[WorkerProcess | BeatProcess | ApiProcess] = field(default_factory=list)
    _store: Store | None = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url)

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(Database(self.database_url), self.client())
        return self._store

    def submitter(self) -> Submitter:
        return Submitter.from_settings(self.settings)

    def webhooks(self) -> Webhooks:
        return Webhooks(self.store(), self.settings)

    def worker(self, queues: str, concurrency: int = 1, pool: str = "prefork") -> WorkerProcess:
        process = WorkerProcess(self.env, queues=queues, concurrency=concurrency, pool=pool)
        self.processes.append(process)
        return process

    def beat(self) -> BeatProcess:
        process = BeatProcess(self.env, self.directory)
        self.processes.append(process)
        return process

    def api(self) -> ApiProcess:
        process = ApiProcess(self.env)
        self.processes.append(process)
        return process

    def kill_redis(self) -> None:
        """SIGKILL the Redis server, like a crash: only its append-only file survives."""
        process = self.redis._process
        assert process is not None
        process.kill()
        process.wait(timeout=10)
        self.redis._process = None

    def start_redis(self) -> None:
        self.redis = EmbeddedRedis(self.directory).start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of a ``system`` runs once per broker (see ``tests/conftest.py``)."""
    if "broker" in metafunc.fixturenames:
        metafunc.parametrize("broker", brokers_for(metafunc.definition), indirect=True)


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Celery's broker for the ``system``: None for its Redis, or a RabbitMQ vhost's URL."""
    if getattr(request, "param", "redis") == "redis":
        yield None
        return
    with private_vhost() as url:
        yield url


@pytest.fixture
def system(tmp_path: Path, databases: ScratchDatabases, broker: str | None) -> Iterator[System]:
    # Unix socket paths are limited to ~100 bytes; keep the server's directory short.
    directory = Path(f"/tmp/syn-fault-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    server = EmbeddedRedis(directory).start()
    database_url = databases.create("fault")
    env = service_env(
        RedisService(server.url, directory, server, database_url, broker_url=broker or ""),
        SYNDICATE_PUBLIC_DIR=str(tmp_path / "public"),
        # The beat's safety nets (stalled submissions, dirty feeds) every 3 s, not 30 s.
        SYNDICATE_REQUEUE_INTERVAL="3",
    )
    running = System(directory, server, env, database_url)
    try:
        yield running
    finally:
        running.stop()
        if running._store is not None:
            running._store.db.close()
        shutil.rmtree(directory, ignore_errors=True)


class PersistentPoster(threading.Thread):
    """A client posting ``count`` articles one after another, retrying each that was not
    accepted (a 503, or no answer while something is down) until it is."""

    def __init__(
        self, client: httpx.Client, body: Callable[[int], bytes], count: int, *,
        retry_pause: float, pause: float,
    ) -> None:  # fmt: skip
        super().__init__(name="persistent-poster", daemon=True)
        self.client, self.body, self.count = client, body, count
        self.retry_pause, self.pause = retry_pause, pause
        #: Article index -> article id, for each accepted post.
        self.accepted: dict[int, str] = {}
        #: Posts answered 503 or not answered.
        self.refused = 0

    def run(self) -> None:
        for index in range(self.count):
            while (response := self._post(index)) is None or response.status_code != 202:
                assert response is None or response.status_code == 503, response.text
                self.refused += 1
                time.sleep(self.retry_pause)
            self.accepted[index] = response.json()["id"]
            time.sleep(self.pause)

    def _post(self, index: int) -> httpx.Response | None:
        try:
            return self.client.post(
                "/v1/articles", content=self.body(index),
                headers={**HEADERS, "Content-Type": "text/plain"},
            )  # fmt: skip
        except httpx.TransportError:
            return None


def entry_id(article_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, article_id)}"


def feed_entries(publisher: Publisher, feed: str) -> tuple[list[str], dict[str, list[str]]]:
    """The entry ids of a feed's current Atom document, and of every archive page's.

    Returns (current ids, {entry id: [text of each archived copy]}) so a caller can check
    that each entry is archived exactly once and shows the right version.
    """
    folder = feed_folder(feed)
    current = publisher.read(f"{folder}atom.xml", body="body")
    assert current is not None, f"feed {feed} was never published"
    current_ids = [entry.id for entry in feedparser.parse(current[1]).entries]
    archived: dict[str, list[str]] = defaultdict(list)
    page = 0
    while (document := publisher.read(f"{folder}archive/{page}/atom.xml", body="body")) is not None:
        for entry in feedparser.parse(document[1]).entries:
            archived[entry.id].append(entry_text(entry))
        page += 1
    return current_ids, dict(archived)


def entry_text(entry: feedparser.FeedParserDict) -> str:
    contents = [part.get("value", "") for part in entry.get("content", [])]
    return " ".join([entry.get("summary", ""), *contents])


@dataclass
class Delivery:
    webhook_id: str
    event: str
    article_id: str
    version: int
    status: int


def deliveries(receiver: Receiver, path: str) -> list[Delivery]:
    """Every request an endpoint received, decoded."""
    found = []
    for request in receiver.received(path):
        body = json.loads(request.body)
        data = body["data"]
        found.append(
            Delivery(
                request.headers["webhook-id"], body["type"], data.get("id", ""),
                int(data.get("version", 0)), request.status,
            )
        )  # fmt: skip
    return found
