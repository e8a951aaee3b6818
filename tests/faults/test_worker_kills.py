"""Workers SIGKILLed 20 times while 500 articles (and edits of 100 of them) flow through
ingest, publish and delivery to 20 endpoints: nothing is lost, every feed is exact,
duplicates share an id.

The kill moments come from a seeded random generator; the seed is printed, and
``SYNDICATE_FAULT_SEED`` replays a run.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict

from standardwebhooks.webhooks import Webhook

from feeds import feed_store
from feeds.publish import Publisher
from feeds.webhooks.spec import parse_subscription
from tests.faults.conftest import System, deliveries, entry_id, feed_entries
from tests.integration.conftest import WorkerProcess, wait_until
from tests.integration.receiver import Receiver, running_receiver
from worker.store import Store
from worker.submit import Submitter

NEW_ARTICLES = 500
UPDATES = 100
ENDPOINTS = 20
KILLS = 20
AUTHORS = 5  # 500 articles: 100 per author and per tag, whole pages of 20
TAGS = 5
PAGE = 20
EXPECTED = {(f"fault-story-{i:03d}", 1) for i in range(NEW_ARTICLES)} | {
    (f"fault-story-{i:03d}", 2) for i in range(UPDATES)
}


def article_body(index: int, revision: int) -> bytes:
    return (
        f"Fault Story {index:03d}\n"
        f"Revision {revision} of story {index}.\n"
        f"Author: Writer {index % AUTHORS}\n"
        f"Tags: topic-{tag_of(index)}\n"
        f"Opening\nThe story {index} begins in revision {revision}.\n"
        f"Closing\nIt ends, for now, with revision {revision}.\n"
    ).encode()


def tag_of(index: int) -> int:
    return index // AUTHORS % TAGS  # not index % TAGS: tag feeds differ from author feeds


def article_id(index: int) -> str:
    return f"fault-story-{index:03d}"


def final_version(index: int) -> int:
    return 2 if index < UPDATES else 1


def test_twenty_worker_kills_lose_nothing(system: System) -> None:
    seed = int(os.environ.get("SYNDICATE_FAULT_SEED") or random.randrange(1 << 32))  # noqa: S311
    print(f"\nseed {seed} (SYNDICATE_FAULT_SEED={seed} replays the kill moments)")
    system.env["SYNDICATE_FEED_ENTRIES"] = str(PAGE)
    system.beat()
    store = system.store()
    with running_receiver() as receiver:
        secrets = subscribe(system, receiver)
        feeder = threading.Thread(target=submit_all, args=(system.submitter(), store))
        feeder.start()
        kills = kill_workers(system, random.Random(seed))  # noqa: S311 - test moments only
        last_kill = time.monotonic()
        feeder.join(timeout=180)
        assert not feeder.is_alive()
        delivered_at_last_kill = sum(
            1 for n in range(ENDPOINTS) for d in deliveries(receiver, f"/partner-{n}")
        )
        wait_until(lambda: settled(store) and all_delivered(receiver), timeout=240, interval=0.5)
        recovered_in = time.monotonic() - last_kill

        versions = {article_id(i): version_of(store, i) for i in range(NEW_ARTICLES)}
        assert versions == {article_id(i): final_version(i) for i in range(NEW_ARTICLES)}
        duplicates = check_deliveries(receiver, secrets)
        check_feeds(Publisher(store, system.settings), store)
        print(
            f"kills: {dict(kills)}\n"
            f"lost 0 of {NEW_ARTICLES} articles, {UPDATES} edits and "
            f"{ENDPOINTS * len(EXPECTED)} webhook messages; {duplicates} duplicate deliveries "
            f"(same webhook-id); {delivered_at_last_kill} requests had arrived at the last "
            f"kill; everything done {recovered_in:.1f}s after it"
        )


def subscribe(system: System, receiver: Receiver) -> dict[str, str]:
    webhooks = system.webhooks()
    secrets = {}
    for number in range(ENDPOINTS):
        path = f"/partner-{number}"
        request = {"url": receiver.url(path), "max_in_flight": 4}
        _, secrets[path] = webhooks.subscribe(parse_subscription(request, creating=True))
    return secrets


def submit_all(submitter: Submitter, store: Store) -> None:
    for index in range(NEW_ARTICLES):
        submitter.submit(article_body(index, 1))
        time.sleep(0.04)
    # Edits of stored articles only: an edit of an unseen one would race its original.
    for index in range(UPDATES):
        wait_until(lambda i=index: version_of(store, i) >= 1, timeout=120)
        submitter.submit(article_body(index, 2))
        time.sleep(0.04)


def kill_workers(system: System, chance: random.Random) -> Counter[str]:
    """Two CPU and two I/O workers; each kill takes one at random and starts another."""
    threads = {"concurrency": 8, "pool": "threads"}
    pools: dict[str, tuple[list[WorkerProcess], dict[str, object]]] = {
        "ingest,publish": ([system.worker("ingest,publish") for _ in range(2)], {}),
        "deliver": ([system.worker("deliver", **threads) for _ in range(2)], threads),  # type: ignore[arg-type]
    }
    kills: Counter[str] = Counter()
    for _ in range(KILLS):
        time.sleep(chance.uniform(0.3, 2.0))
        queues = chance.choice(sorted(pools))
        running, options = pools[queues]
        running.pop(chance.randrange(len(running))).kill()
        kills[queues] += 1
        replacement = WorkerProcess(system.env, queues=queues, **options)  # type: ignore[arg-type]
        system.processes.append(replacement)
        running.append(replacement)
    return kills


def all_delivered(receiver: Receiver) -> bool:
    return all(
        {(d.article_id, d.version) for d in deliveries(receiver, f"/partner-{n}")
         if 200 <= d.status < 300} >= EXPECTED
        for n in range(ENDPOINTS)
    )  # fmt: skip


def check_deliveries(receiver: Receiver, secrets: dict[str, str]) -> int:
    """Every message at least once, signed; a repeat carries the same webhook-id."""
    duplicates = 0
    for path, secret in secrets.items():
        received = deliveries(receiver, path)
        events: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for delivery in received:
            events[delivery.webhook_id].add((delivery.article_id, delivery.version))
        assert all(len(described) == 1 for described in events.values()), path
        assert {next(iter(described)) for described in events.values()} == EXPECTED, path
        duplicates += sum(1 for d in received if 200 <= d.status < 300) - len(EXPECTED)
        verifier = Webhook(secret)
        for request in receiver.received(path):
            verifier.verify(request.body, request.headers)
    return duplicates


def check_feeds(publisher: Publisher, store: Store) -> None:
    """Each feed holds exactly its articles, archived once each, at their last version."""
    members: dict[str, set[int]] = defaultdict(set)
    for index in range(NEW_ARTICLES):
        for feed in ("main", f"author:writer-{index % AUTHORS}", f"tag:topic-{tag_of(index)}"):
            members[feed].add(index)
    assert len(members) == 1 + AUTHORS + TAGS
    for feed, indexes in members.items():
        current, archived = feed_entries(publisher, feed)
        wanted = {entry_id(article_id(i)): i for i in indexes}
        assert set(archived) == set(wanted), feed
        assert all(len(copies) == 1 for copies in archived.values()), feed
        complete = feed_store.feed_state(store.db, feed).ordinals_issued // PAGE
        newest = feed_store.current(store.db, feed, PAGE, complete * PAGE)
        assert current == [entry_id(i) for i in newest], feed
        for entry, [text] in archived.items():
            assert f"Revision {final_version(wanted[entry])} " in text, (feed, entry)


def version_of(store: Store, index: int) -> int:
    record = store.article(article_id(index))
    return 0 if record is None else record.version


def settled(store: Store) -> bool:
    keys = store.keys
    if store.unfinished() or feed_store.dirty_count(store.db):
        return False
    return not store.client.exists(keys.publish_scheduled)
