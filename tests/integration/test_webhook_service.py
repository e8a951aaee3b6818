"""The delivery service with a real PostgreSQL and a real receiver, on a controlled clock.

No Celery here: attempts are made by calling the service the way the deliver task does,
so days of the retry schedule pass in milliseconds.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from config.settings import Settings
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import parse_subscription
from tests.integration.conftest import RedisService
from tests.integration.receiver import Receiver, running_receiver
from tests.postgres import ScratchDatabases
from worker.database.connect import Database
from worker.store import Store

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _log_everything(caplog: pytest.LogCaptureFixture) -> None:
    # Every log call of the attempt path runs (a bad ``extra`` key once crashed it at INFO).
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def webhooks(
    redis_service: RedisService, databases: ScratchDatabases, settings: Settings, clock: Clock
) -> Iterator[Webhooks]:
    # A database of its own: the session's workers never see these endpoints.
    db = Database(databases.create("svc"))
    store = Store(db, redis_service.client())
    production = dataclasses.replace(
        settings, webhook_schedule=(0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    )
    yield Webhooks(store, production, unit_random=lambda: 0.5, clock=clock)
    db.close()


def attempt_all_due(webhooks: Webhooks) -> list[str]:
    return [webhooks.attempt(m, token).outcome for m, token in webhooks.promote()]


def test_the_default_schedule_then_a_dead_letter(
    webhooks: Webhooks, receiver: Receiver, clock: Clock
) -> None:
    url = receiver.url("/down", "always:500")
    endpoint, _ = webhooks.subscribe(parse_subscription({"url": url}, creating=True))
    message_id = webhooks.send_test(endpoint.id)
    outcomes: list[str] = []
    for _ in range(20):
        outcomes += attempt_all_due(webhooks)
        message = webhooks.message(message_id)
        if message.status == "dead":
            break
        assert message.next_due is not None
        clock.now = message.next_due
    assert outcomes == ["retry"] * 7 + ["dead"]
    log = webhooks.message(message_id).attempt_log
    gaps = [b["at"] for b in log]
    assert len(gaps) == 8 and all(a["status"] == 500 for a in log)
    assert len(receiver.received("/down")) == 8
    assert {r.headers["webhook-id"] for r in receiver.received("/down")} == {message_id}


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_messages_kept(
    webhooks: Webhooks, receiver: Receiver, clock: Clock
) -> None:
    url = receiver.url("/dying", "always:503")
    endpoint, _ = webhooks.subscribe(parse_subscription({"url": url}, creating=True))
    first = webhooks.send_test(endpoint.id)
    assert attempt_all_due(webhooks) == ["retry"]
    assert webhooks.endpoint(endpoint.id).failing_since == clock.now
    clock.now += 5 * DAY + 1
    second = webhooks.send_test(endpoint.id)
    outcomes = attempt_all_due(webhooks)
    assert "disable" in outcomes
    shown = webhooks.endpoint(endpoint.id)
    assert not shown.enabled
    assert shown.disabled_reason is not None and "failing continuously" in shown.disabled_reason
    assert webhooks.promote() == []  # the next tick holds what was waiting, sends nothing
    held = {m.id for m in webhooks.store.messages(endpoint_id=endpoint.id, status="held")}
    assert held == {first, second}

    receiver.behave("/dying", "ok")
    assert webhooks.set_enabled(endpoint.id, True) == 2
    clock.now += 1
    assert attempt_all_due(webhooks) == ["delivered"]  # cap 1: one at a time
    assert attempt_all_due(webhooks) == ["delivered"]
    assert webhooks.endpoint(endpoint.id).failing_since is None


def test_retention_trims_old_finished_messages(
    webhooks: Webhooks, receiver: Receiver, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, _ = webhooks.subscribe(
        parse_subscription({"url": receiver.url("/kept")}, creating=True)
    )
    old = webhooks.send_test(endpoint.id)
    assert attempt_all_due(webhooks) == ["delivered"]
    assert any("delivered" in r.getMessage() for r in caplog.records)
    clock.now += 31 * DAY
    recent = webhooks.send_test(endpoint.id)
    assert webhooks.trim() == 1
    assert [m.id for m in webhooks.store.messages(endpoint_id=endpoint.id)] == [recent]
    with pytest.raises(Exception, match="no message"):
        webhooks.message(old)


def test_rotation_grace_ends(webhooks: Webhooks, receiver: Receiver, clock: Clock) -> None:
    endpoint, first = webhooks.subscribe(
        parse_subscription({"url": receiver.url("/rot")}, creating=True)
    )
    second, until = webhooks.rotate_secret(endpoint.id)
    assert until == clock.now + DAY
    assert webhooks.endpoint(endpoint.id).live_secrets(clock.now) == [second, first]
    clock.now += DAY + 1
    assert webhooks.endpoint(endpoint.id).live_secrets(clock.now) == [second]
    webhooks.send_test(endpoint.id)
    attempt_all_due(webhooks)
    [request] = receiver.received("/rot")
    assert len(request.headers["webhook-signature"].split()) == 1
