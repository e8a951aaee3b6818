"""Several real workers, beats and API processes on one Redis: the races stay closed.

Each test runs on a Redis database and a PostgreSQL database of its own (the session's
workers never see them) and starts exactly the processes it needs.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest
import redis

from config.celery_app import create_app
from config.settings import Settings
from feeds import feed_store
from feeds.publish import Publisher
from feeds.render import ENTRY_NAMESPACE
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import (
    API_TOKEN,
    ApiProcess,
    BeatProcess,
    RedisService,
    WorkerProcess,
    service_env,
    wait_until,
)
from tests.integration.databases import other_db
from tests.integration.receiver import running_receiver
from tests.postgres import ScratchDatabases
from worker.database.connect import Database
from worker.store import Store
from worker.submit import Submitter


@dataclass
class Cluster:
    env: dict[str, str]
    settings: Settings
    store: Store
    tmp: Path
    processes: list[WorkerProcess | BeatProcess] = field(default_factory=list)

    @property
    def client(self) -> redis.Redis:
        return self.store.client

    def workers(self, count: int, queues: str = "ingest,publish", **options: object) -> None:
        for _ in range(count):
            self.processes.append(WorkerProcess(self.env, queues=queues, **options))  # type: ignore[arg-type]

    def beats(self, count: int) -> None:
        for _ in range(count):
            self.processes.append(BeatProcess(self.env, self.tmp))

    def submitter(self) -> Submitter:
        return Submitter.from_settings(self.settings)


@pytest.fixture
def cluster(
    redis_service: RedisService,
    tmp_path: Path,
    databases: ScratchDatabases,
    own_broker: dict[str, str],
) -> Iterator[Cluster]:
    database_url = databases.create("cluster")
    env = service_env(
        redis_service, REDIS_URL=other_db(redis_service.url, 12), DATABASE_URL=database_url,
        **own_broker,
    )  # fmt: skip
    settings = Settings.from_env(env)
    store = Store(Database(database_url), redis.Redis.from_url(settings.redis_url or ""))
    store.client.flushdb()
    running = Cluster(env, settings, store, tmp_path)
    yield running
    for process in running.processes:
        process.stop()
    store.client.flushdb()
    store.db.close()


def events_of(store: Store, article_id: str) -> list[dict[str, int]]:
    with store.db.connection() as conn:
        rows = conn.execute(
            "SELECT version, seq FROM events WHERE article_id = %s ORDER BY id", (article_id,)
        ).fetchall()
    return [{"version": int(version), "seq": int(seq)} for version, seq in rows]


def live_ids(store: Store, newest: int | None = None) -> list[str]:
    """Ids of stored articles (all, or the ``newest`` of the main feed, newest first)."""
    if newest is not None:
        return feed_store.current(store.db, "main", newest, first_unarchived=2**62)
    with store.db.connection() as conn:
        rows = conn.execute("SELECT id FROM articles WHERE version > 0 AND NOT deleted")
        return sorted(str(row[0]) for row in rows.fetchall())


def test_the_newest_submission_wins_whatever_order_workers_take_them(cluster: Cluster) -> None:
    cluster.workers(2, concurrency=1)
    submitter = cluster.submitter()
    app = create_app(cluster.settings)
    tag = uuid.uuid4().hex[:6]
    titles = [f"Race {tag} {index}" for index in range(20)]
    for title in titles:
        submitter.submit(f"{title}\nD.\nPart\nThe first text.\n".encode())
    wait_until(lambda: len(live_ids(cluster.store)) == 20, timeout=60)

    queued: list[str] = []
    holding = Submitter(cluster.store, cluster.settings, queued.append)
    for title in titles:
        holding.submit(f"{title}\nD.\nPart\nAn older edit.\n".encode())
        time.sleep(0.01)
        holding.submit(f"{title}\nD.\nPart\nThe newest edit.\n".encode())
    # Every later edit is queued before its earlier one: the workers meet them reversed.
    for older, newer in zip(queued[::2], queued[1::2], strict=True):
        app.send_task("syndicate.ingest", args=[newer])
        app.send_task("syndicate.ingest", args=[older])
    wait_until(lambda: cluster.store.unfinished() == 0, timeout=60)

    for title in titles:
        article_id = title.lower().replace(" ", "-")
        record = cluster.store.article(article_id)
        assert record is not None and record.article is not None
        assert record.article.sections[0].paragraphs == ("The newest edit.",)
        events = events_of(cluster.store, article_id)
        versions = [int(e["version"]) for e in events]
        assert versions == list(range(1, len(events) + 1))  # consecutive
        seqs = [int(e["seq"]) for e in events]
        assert seqs == sorted(seqs)  # no event describes a change backwards
        assert [int(h["version"]) for h in record.history] == versions


def test_a_burst_on_four_workers_renders_each_feed_a_few_times_never_twice_at_once(
    cluster: Cluster,
) -> None:
    cluster.workers(4, concurrency=1)
    submitter = cluster.submitter()
    total = 1000
    for index in range(total):
        body = (
            f"Burst {index:04d}\nD.\nAuthor: Writer {index % 10}\n"
            f"Published: 2026-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}Z\n"
            f"Part\nText number {index}.\n"
        )
        submitter.submit(body.encode())
    wait_until(lambda: len(live_ids(cluster.store)) == total, timeout=120)

    def settled() -> bool:
        if feed_store.dirty_count(cluster.store.db):
            return False
        return not any(
            cluster.client.exists(key) for key in ("syn:publish:lock", "syn:publish:scheduled")
        )

    wait_until(settled, timeout=60, interval=0.2)
    renders = feed_store.renders(cluster.store.db)
    assert 1 <= renders["main"] <= 20, renders["main"]
    print(f"\n{total} articles on 4 workers: main rendered {renders['main']} times, "
          f"author feeds at most {max(v for k, v in renders.items() if k != 'main')}")  # fmt: skip

    runs = sorted(
        (json.loads(raw) for raw in cluster.client.lrange("syn:publish:runs", 0, -1)),
        key=lambda run: run["start"],
    )
    for earlier, later in itertools.pairwise(runs):
        assert earlier["end"] <= later["start"], "two publish runs overlapped"

    publisher = Publisher(cluster.store, cluster.settings)
    ids = live_ids(cluster.store)
    expected = {f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, i)}" for i in ids}
    current = publisher.read("atom.xml", body="body")
    assert current is not None
    newest = {e.id for e in feedparser.parse(current[1]).entries}
    assert len(newest) == cluster.settings.feed_entries
    archived: set[str] = set()
    page = 0
    while (document := publisher.read(f"archive/{page}/atom.xml", body="body")) is not None:
        entries = {e.id for e in feedparser.parse(document[1]).entries}
        assert not archived & entries  # archive pages never share an entry
        archived |= entries
        page += 1
    assert page == total // cluster.settings.feed_entries
    assert archived == expected  # every article is in exactly one archive page
    top = live_ids(cluster.store, newest=cluster.settings.feed_entries)
    assert newest == {f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, i)}" for i in top}


def test_two_beats_promote_each_attempt_once(cluster: Cluster) -> None:
    cluster.workers(2, queues="deliver", concurrency=8, pool="threads")
    cluster.beats(2)
    webhooks = Webhooks(cluster.store, cluster.settings)
    with running_receiver() as receiver:
        url = receiver.url("/twice", "once-each")  # every message fails once, then succeeds
        endpoint, _ = webhooks.subscribe(
            parse_subscription({"url": url, "max_in_flight": 30}, creating=True)
        )
        sent = [webhooks.send_test(endpoint.id) for _ in range(30)]  # beats promote them
        wait_until(lambda: len(receiver.received("/twice")) >= 60, timeout=60)
        time.sleep(3)  # would-be duplicates have time to arrive
        per_message: dict[str, int] = {}
        for request in receiver.received("/twice"):
            per_message[request.headers["webhook-id"]] = (
                per_message.get(request.headers["webhook-id"], 0) + 1
            )
        assert per_message == dict.fromkeys(sent, 2)
        for message_id in sent:
            statuses = [a["status"] for a in webhooks.message(message_id).attempt_log]
            # The failure is the 500, or on a loaded machine a timeout waiting for it (None).
            assert len(statuses) == 2 and statuses[1] == 204 and statuses[0] in (500, None)


def test_the_per_endpoint_cap_holds_across_workers(cluster: Cluster) -> None:
    cluster.workers(2, queues="deliver", concurrency=8, pool="threads")
    cluster.beats(1)
    webhooks = Webhooks(cluster.store, cluster.settings)
    with running_receiver() as receiver:
        for path, cap in (("/one", 1), ("/two", 2)):
            request = {"url": receiver.url(path, "slow:0.2"), "max_in_flight": cap}
            endpoint, _ = webhooks.subscribe(parse_subscription(request, creating=True))
            for _ in range(8):
                webhooks.send_test(endpoint.id)
        wait_until(lambda: len(receiver.received("/one")) == 8, timeout=60)
        wait_until(lambda: len(receiver.received("/two")) == 8, timeout=60)
        for path, cap in (("/one", 1), ("/two", 2)):
            spans = [(r.begun, r.at) for r in receiver.received(path)]
            most = max(sum(1 for b, e in spans if b <= moment < e) for moment, _ in spans)
            assert most <= cap, (path, most)


def test_replaying_a_dead_letter_from_two_api_replicas_sends_it_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.workers(1, queues="deliver", concurrency=8, pool="threads")
    cluster.beats(1)
    replicas = [ApiProcess(cluster.env), ApiProcess(cluster.env)]
    clients = [replica.client for replica in replicas]
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        webhooks = Webhooks(cluster.store, cluster.settings)
        with running_receiver() as receiver:
            url = receiver.url("/dead", "always:500")
            endpoint, _ = webhooks.subscribe(parse_subscription({"url": url}, creating=True))
            message_id = webhooks.send_test(endpoint.id)
            wait_until(lambda: webhooks.message(message_id).status == "dead", timeout=30)
            receiver.behave("/dead", "ok")

            def replay(index: int) -> bool:
                client = clients[index % 2]
                response = client.post(f"/v1/messages/{message_id}/replay", headers=headers)
                return response.status_code == 202 and bool(response.json()["rescheduled"])

            with ThreadPoolExecutor(8) as pool:
                outcomes = list(pool.map(replay, range(8)))
            assert outcomes.count(True) == 1
            wait_until(lambda: webhooks.message(message_id).status == "delivered", timeout=30)
            time.sleep(2)
            delivered = [r for r in receiver.received("/dead") if r.status == 204]
            assert len(delivered) == 1
    finally:
        for replica in replicas:
            replica.stop()
