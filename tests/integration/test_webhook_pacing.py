"""Per-endpoint rate limits (shared by every worker through Redis) and FIFO ordering,
with a real PostgreSQL, Redis and receiver; attempts made by calling the service the
way the deliver task does."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import SubscriptionError, parse_subscription
from tests.integration.conftest import RedisService
from tests.integration.receiver import Receiver, running_receiver
from tests.postgres import ScratchDatabases
from worker.database.connect import Database
from worker.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def store(redis_service: RedisService, databases: ScratchDatabases) -> Iterator[Store]:
    db = Database(databases.create("pacing"))
    yield Store(db, redis_service.client())
    db.close()


@pytest.fixture
def production(settings: Settings) -> Settings:
    return dataclasses.replace(settings, webhook_schedule=(0, 5, 300, 1800))


def test_subscription_fields_are_checked_stored_and_cleared(
    store: Store, production: Settings, receiver: Receiver
) -> None:
    webhooks = Webhooks(store, production)
    changes = parse_subscription(
        {"url": receiver.url("/paced"), "rate_limit": 5, "ordering": "fifo"}, creating=True
    )
    endpoint, _ = webhooks.subscribe(changes)
    stored = webhooks.endpoint(endpoint.id)
    assert (stored.rate_limit, stored.ordering) == (5, "fifo")
    assert stored.public(0.0)["rate_limit"] == 5
    cleared = parse_subscription({"rate_limit": None, "ordering": "none"}, creating=False)
    assert webhooks.update(endpoint.id, cleared).rate_limit is None
    stored = webhooks.endpoint(endpoint.id)
    assert (stored.rate_limit, stored.ordering) == (None, "none")
    for bad in ({"rate_limit": -1}, {"rate_limit": 1.5}, {"rate_limit": True},
                {"ordering": "lifo"}, {"ordering": None}):  # fmt: skip
        with pytest.raises(SubscriptionError):
            parse_subscription(bad, creating=False)


def test_a_rate_limit_holds_across_workers(
    store: Store, production: Settings, receiver: Receiver
) -> None:
    # Two services on one database and one Redis: two workers of one deployment.
    workers = [Webhooks(store, production), Webhooks(store, production)]
    changes = parse_subscription(
        {"url": receiver.url("/paced"), "rate_limit": 5, "max_in_flight": 20}, creating=True
    )
    endpoint, _ = workers[0].subscribe(changes)
    sent = [workers[0].send_test(endpoint.id) for _ in range(20)]
    started = time.time()
    outcomes: list[str] = []
    while len(receiver.received("/paced")) < 20 and time.time() - started < 20:
        for webhooks in workers:
            outcomes += [r.outcome for r in webhooks.attempt_many(webhooks.promote())]
        time.sleep(0.05)
    answered = sorted(r.at - started for r in receiver.received("/paced"))
    assert len(answered) == 20
    assert "throttled" in outcomes
    # 5 at once (one second's burst), then one every 0.2 s: 20 take 3 s, never fewer.
    for count, at in enumerate(answered, start=1):
        assert count <= 5 + 5 * at + 1, (count, at)
    assert answered[-1] >= 2.5
    for message_id in sent:  # being put back for the rate limit is no attempt
        message = workers[0].message(message_id)
        assert (message.status, message.attempts) == ("delivered", 1)


def test_fifo_sends_the_next_message_only_after_the_previous_one(
    store: Store, production: Settings, receiver: Receiver
) -> None:
    clock = Clock()
    webhooks = Webhooks(store, production, unit_random=lambda: 0.5, clock=clock)
    changes = parse_subscription(
        {"url": receiver.url("/fifo", "fail:2"), "ordering": "fifo", "max_in_flight": 5},
        creating=True,
    )
    endpoint, _ = webhooks.subscribe(changes)
    sent = [webhooks.send_test(endpoint.id) for _ in range(4)]
    for _ in range(12):
        promoted = webhooks.promote()
        assert len(promoted) <= 1
        for report in webhooks.attempt_many(promoted):
            assert report.message_id == sent[0] or report.outcome == "delivered"
        due = [m.next_due for m in webhooks.store.messages(endpoint_id=endpoint.id)
               if m.status == "scheduled" and m.next_due is not None]  # fmt: skip
        clock.now = max([clock.now, *due[-1:]])
    order = [r.headers["webhook-id"] for r in receiver.received("/fifo")]
    assert order == [sent[0]] * 3 + sent[1:]


def test_without_fifo_later_messages_do_not_wait_for_a_retry(
    store: Store, production: Settings, receiver: Receiver
) -> None:
    clock = Clock()
    webhooks = Webhooks(store, production, unit_random=lambda: 0.5, clock=clock)
    changes = parse_subscription(
        {"url": receiver.url("/any", "fail:1"), "max_in_flight": 5}, creating=True
    )
    endpoint, _ = webhooks.subscribe(changes)
    sent = [webhooks.send_test(endpoint.id) for _ in range(4)]
    outcomes = {r.message_id: r.outcome for r in webhooks.attempt_many(webhooks.promote())}
    assert sorted(outcomes.values()) == ["delivered"] * 3 + ["retry"]
    assert set(outcomes) == set(sent)
