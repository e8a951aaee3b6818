"""The delivery state machine in a real PostgreSQL: promotion, claims, cap, replay, trim.

Each test uses a database of its own; the clock is passed in (no sleeping).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from feeds.webhooks.store import Attempt, Endpoint, Message, NewMessage, Secret, WebhookStore
from tests.postgres import ScratchDatabases
from worker.database.connect import Database

LEASE = 100.0
T0 = 1_800_000_000.0


@pytest.fixture
def store(databases: ScratchDatabases) -> Iterator[WebhookStore]:
    db = Database(databases.create("webhooks"))
    yield WebhookStore(db)
    db.close()


def tried(number: int, status: int = 500) -> Attempt:
    """The record of attempt ``number`` (its status tells the attempts apart)."""
    return Attempt(at=T0 + number, status=status, latency_ms=1.5, outcome="retry")


def loaded(store: WebhookStore, message_id: str) -> Message:
    found = store.message(message_id)
    assert found is not None
    return found


def count(store: WebhookStore, query: str, *args: object) -> int:
    with store.db.connection() as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


def endpoint(store: WebhookStore, name: str = "ep1", cap: int = 1) -> Endpoint:
    made = Endpoint(
        id=name, url="http://127.0.0.1/x", events=("article.published",), created_at=T0,
        updated_at=T0, max_in_flight=cap, secrets=(Secret("whsec_c2VjcmV0c2VjcmV0"),),
    )  # fmt: skip
    store.save_endpoint(made)
    return made


def messages(
    store: WebhookStore, count: int, endpoint_id: str = "ep1", now: float = T0
) -> list[str]:
    ids = [f"msg_{endpoint_id}_{int(now)}_{i}" for i in range(count)]
    made = [NewMessage(i, endpoint_id, "article.published", b"{}") for i in ids]
    assert store.create_messages(made, now=now) == count
    return ids


def promote(
    store: WebhookStore, now: float, endpoint_id: str | None = None
) -> list[tuple[str, int]]:
    return store.promote(now=now, lease=LEASE, endpoint_id=endpoint_id)


def test_creating_a_message_twice_makes_one(store: WebhookStore) -> None:
    endpoint(store)
    messages(store, 1)
    again = [NewMessage(f"msg_ep1_{int(T0)}_0", "ep1", "article.published", b"{}")]
    assert store.create_messages(again, now=T0 + 5) == 0
    assert store.stats()["scheduled"] == 1


def test_the_cap_holds_and_first_attempts_follow_creation_order(store: WebhookStore) -> None:
    endpoint(store, cap=2)
    ids = messages(store, 5)
    promoted = promote(store, T0 + 1)
    assert [m for m, _ in promoted] == ids[:2]
    assert promote(store, T0 + 1) == []  # both slots taken
    message = store.message(ids[0])
    assert message is not None
    assert store.claim(ids[0], promoted[0][1], now=T0 + 1, guard=10)
    store.finish(message, promoted[0][1], "delivered", now=T0 + 2, attempt=tried(1, 204))
    assert [m for m, _ in promote(store, T0 + 2, "ep1")] == [ids[2]]


def test_two_promoters_at_once_never_promote_a_message_twice(store: WebhookStore) -> None:
    for i in range(20):
        endpoint(store, f"ep{i}", cap=3)
        messages(store, 10, f"ep{i}")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: promote(store, T0 + 1), range(4)))
    promoted = [m for result in results for m, _ in result]
    assert len(promoted) == len(set(promoted)) == 20 * 3


def test_an_attempt_is_claimed_once_per_token(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    with ThreadPoolExecutor(8) as pool:
        claims = list(
            pool.map(lambda _: store.claim(message_id, token, now=T0 + 1, guard=10), range(8))
        )
    assert claims.count(True) == 1
    assert not store.claim(message_id, token - 1, now=T0 + 1, guard=10)  # an older promotion
    # A claim older than the guard belongs to a dead worker: the redelivered task takes over.
    assert store.claim(message_id, token, now=T0 + 12, guard=10)


def test_a_stale_finish_is_ignored(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    message = store.message(message_id)
    assert message is not None
    assert store.finish(message, token, "delivered", now=T0 + 2, attempt=tried(1, 204)) == 1
    assert store.finish(message, token, "retry", now=T0 + 3, attempt=tried(2), next_due=T0 + 9) == 0
    final = store.message(message_id, with_attempts=True)
    assert final is not None and final.status == "delivered" and final.attempts == 1


def test_a_lost_task_comes_due_again_after_the_lease(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, first)] = promote(store, T0 + 1)
    assert promote(store, T0 + 50) == []  # the lease is not over
    [(again, second)] = promote(store, T0 + 1 + LEASE + 1)
    assert again == message_id and second == first + 1
    assert not store.claim(message_id, first, now=T0 + 200, guard=10)


def test_retry_dead_and_replay(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    message = store.message(message_id)
    assert message is not None
    store.finish(message, token, "retry", now=T0 + 2, attempt=tried(1, 501), next_due=T0 + 7)
    assert promote(store, T0 + 6) == []
    [(_, token)] = promote(store, T0 + 7)
    store.finish(message, token, "dead", now=T0 + 8, attempt=tried(2, 502), reason="HTTP 500")
    dead = store.messages(endpoint_id="ep1", status="dead")
    assert [m.id for m in dead] == [message_id] and dead[0].attempts == 2
    assert store.replay(message_id, now=T0 + 9) == 1
    assert store.replay(message_id, now=T0 + 9) == 0  # already pending
    assert store.messages(endpoint_id="ep1", status="dead") == []
    [(_, token)] = promote(store, T0 + 9)
    store.finish(message, token, "delivered", now=T0 + 10, attempt=tried(3, 204))
    assert store.replay(message_id, now=T0 + 11) == 2  # delivered: only with force
    assert store.replay(message_id, now=T0 + 11, force=True) == 1
    log = store.message(message_id, with_attempts=True)
    assert log is not None and [a["status"] for a in log.attempt_log] == [501, 502, 204]
    assert [a["attempt"] for a in log.attempt_log] == [1, 2, 3]


def test_messages_of_a_disabled_endpoint_are_held_then_sent_on_enable(store: WebhookStore) -> None:
    endpoint(store)
    store.set_enabled("ep1", False, now=T0)
    ids = messages(store, 2)
    assert promote(store, T0 + 1) == []
    assert {m.status for m in store.messages(endpoint_id="ep1")} == {"held"}
    assert store.set_enabled("ep1", True, now=T0 + 2) == 2
    assert [m for m, _ in promote(store, T0 + 3)] == ids[:1]


def test_disabling_finish_disables_once_and_holds(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    message = store.message(message_id)
    assert message is not None
    result = store.finish(
        message, token, "disable", now=T0 + 2, attempt=tried(1, 410), reason="410"
    )
    assert result == 2
    shown = store.endpoint("ep1")
    assert shown is not None and not shown.enabled and shown.disabled_reason == "410"
    assert store.message(message_id).status == "held"  # type: ignore[union-attr]


def test_trim_forgets_finished_messages_past_retention_only(store: WebhookStore) -> None:
    endpoint(store)
    old = messages(store, 3, now=T0)
    [(_, token)] = promote(store, T0 + 1)
    first = store.message(old[0])
    assert first is not None
    store.finish(first, token, "retry", now=T0 + 2, attempt=tried(1), next_due=T0 - 1)
    [(again, token)] = promote(store, T0 + 2)  # first again: due before the others
    assert again == old[0]
    store.finish(first, token, "delivered", now=T0 + 2, attempt=tried(2, 204))
    assert count(store, "SELECT count(*) FROM webhook_attempts WHERE message_id = %s", old[0]) == 1
    store.set_enabled("ep1", False, now=T0 + 3)
    promote(store, T0 + 4)  # the other two become held
    recent = messages(store, 1, now=T0 + 1000)
    removed = store.trim(older_than=T0 + 500)
    assert removed == 3
    assert [m.id for m in store.messages(endpoint_id="ep1")] == recent
    assert store.message(old[0]) is None
    assert count(store, "SELECT count(*) FROM webhook_attempts WHERE message_id = %s", old[0]) == 0


def test_recover_resends_failed_messages_since_a_time(store: WebhookStore) -> None:
    endpoint(store)
    store.set_enabled("ep1", False, now=T0)
    early = messages(store, 1, now=T0)
    late = [NewMessage("msg_late", "ep1", "article.published", b"{}")]
    store.create_messages(late, now=T0 + 100)
    store.update_endpoint("ep1", {"enabled": True})  # held messages stay held
    assert store.recover("ep1", since=T0 + 50, now=T0 + 200) == 1
    assert store.message("msg_late").status == "scheduled"  # type: ignore[union-attr]
    assert store.message(early[0]).status == "held"  # type: ignore[union-attr]


def test_deleting_an_endpoint_removes_its_messages(store: WebhookStore) -> None:
    endpoint(store)
    ids = messages(store, 3)
    assert store.delete_endpoint("ep1")
    assert store.message(ids[0]) is None
    assert store.stats()["scheduled"] == 0 and store.stats()["messages"] == 0
    assert store.endpoint_ids() == []


def test_an_event_payload_is_stored_once_for_all_its_endpoints(store: WebhookStore) -> None:
    for name in ("ep1", "ep2", "ep3"):
        endpoint(store, name)
    body = b'{"type": "article.published"}'
    made = [NewMessage(f"msg_{e}", e, "article.published", body, "art-1", 1)
            for e in ("ep1", "ep2", "ep3")]  # fmt: skip
    assert store.create_messages(made, now=T0) == 3
    assert store.create_messages(made, now=T0 + 1) == 0  # dispatched again: nothing new
    assert count(store, "SELECT count(*) FROM webhook_payloads") == 1
    assert count(store, "SELECT count(*) FROM webhook_messages") == 3
    shown = store.message("msg_ep2", with_attempts=True)
    assert shown is not None and shown.body == body
    assert shown.public(with_body=True)["payload"] == {"type": "article.published"}


def test_the_latest_attempt_is_on_the_message_and_earlier_ones_move_to_the_log(
    store: WebhookStore,
) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    logged = "SELECT count(*) FROM webhook_attempts WHERE message_id = %s"
    [(_, token)] = promote(store, T0 + 1)
    first = Attempt(at=T0 + 1, status=503, latency_ms=2.5, outcome="retry", response="busy",
                    error=None, reason="HTTP 503", next_due=T0 + 5)  # fmt: skip
    store.finish(loaded(store, message_id), token, "retry", now=T0 + 2, attempt=first,
                 next_due=T0 + 5, reason="HTTP 503", status=503)  # fmt: skip
    assert count(store, logged, message_id) == 0  # one attempt: on the message row only
    [(_, token)] = promote(store, T0 + 5)
    assert store.finish(loaded(store, message_id), token, "hold", now=T0 + 5, attempt=None) == 1
    assert count(store, logged, message_id) == 0  # no attempt made: nothing moves
    assert store.set_enabled("ep1", True, now=T0 + 6) == 1  # the held message, rescheduled
    [(_, token)] = promote(store, T0 + 6)
    store.finish(loaded(store, message_id), token, "delivered", now=T0 + 7,
                 attempt=tried(2, 204), status=204)  # fmt: skip
    assert count(store, logged, message_id) == 1  # the first moved when the second came
    shown = store.message(message_id, with_attempts=True)
    assert shown is not None and shown.attempts == 2 and shown.last_status == 204
    assert shown.attempt_log == [
        {"attempt": 1, "at": "2027-01-15T08:00:01.000+00:00", "status": 503,
         "latency_ms": 2.5, "response": "busy", "error": None, "outcome": "retry",
         "reason": "HTTP 503", "next_due": "2027-01-15T08:00:05.000+00:00"},
        {"attempt": 2, "at": "2027-01-15T08:00:02.000+00:00", "status": 204,
         "latency_ms": 1.5, "response": "", "error": None, "outcome": "retry", "reason": "",
         "next_due": None},
    ]  # fmt: skip


def test_counters_and_the_attempt_log_record_every_outcome(store: WebhookStore) -> None:
    endpoint(store, cap=2)
    ids = messages(store, 2)
    (first, t1), (second, t2) = promote(store, T0 + 1)
    assert store.claim(first, t1, now=T0 + 1, guard=10)
    noisy = Attempt(at=T0 + 1, status=500, latency_ms=3.2, outcome="dead", response="a\x00b",
                    error=None, reason="HTTP 500")  # fmt: skip
    store.finish(loaded(store, first), t1, "dead", now=T0 + 2, attempt=noisy, reason="HTTP 500")
    store.finish(loaded(store, second), t2, "delivered", now=T0 + 3, attempt=tried(1, 204))
    stats = store.stats()
    assert stats["attempts_delivered"] == 1 and stats["attempts_failed"] == 1
    assert stats["dead_letters"] == 1 and stats["dead"] == 1 and stats["messages"] == 2
    [logged] = store.message(ids[0], with_attempts=True).attempt_log  # type: ignore[union-attr]
    assert logged["response"] == "a\ufffdb" and logged["latency_ms"] == 3.2
    assert logged["at"] == "2027-01-15T08:00:01.000+00:00" and logged["reason"] == "HTTP 500"
    shown = store.endpoint("ep1")
    assert shown is not None and shown.failing_since is None  # the later success cleared it
    assert shown.last_success_at == T0 + 3 and shown.last_failure_at == T0 + 2


def test_a_leased_message_counts_against_the_cap_until_its_lease_ends(
    store: WebhookStore,
) -> None:
    endpoint(store)
    ids = messages(store, 2)
    [(first, _)] = promote(store, T0 + 1)
    assert first == ids[0]
    assert promote(store, T0 + 1 + LEASE - 1, "ep1") == []  # its task may still run
    # The task was lost: the lease ends, the message is due again, before the next one.
    assert [m for m, _ in promote(store, T0 + 2 + LEASE, "ep1")] == [ids[0]]


def test_trim_forgets_payloads_no_message_uses(store: WebhookStore) -> None:
    endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    store.finish(loaded(store, message_id), token, "delivered", now=T0 + 2, attempt=tried(1))
    assert store.trim(older_than=T0 + 100) == 1
    assert count(store, "SELECT count(*) FROM webhook_payloads") == 0
    assert count(store, "SELECT count(*) FROM webhook_attempts") == 0


def test_take_claims_and_loads_the_message_with_its_endpoint(store: WebhookStore) -> None:
    made = endpoint(store)
    [message_id] = messages(store, 1)
    [(_, token)] = promote(store, T0 + 1)
    taken = store.take(message_id, token, now=T0 + 1, guard=10)
    assert taken is not None
    message, found = taken
    assert (message.id, message.body, message.status, message.token) == (
        message_id, b"{}", "queued", token,
    )  # fmt: skip
    assert found == made
    assert store.take(message_id, token, now=T0 + 2, guard=10) is None  # claimed once


def test_promoters_of_some_endpoints_and_of_all_at_once_keep_every_cap(
    store: WebhookStore,
) -> None:
    names = [f"ep{i}" for i in range(12)]
    for name in names:
        endpoint(store, name, cap=2)
        messages(store, 6, name)

    def run(index: int) -> list[tuple[str, int]]:
        if index % 3 == 0:
            return promote(store, T0 + 1)
        chosen = names[index % 5 :] + names[: index % 5]  # overlapping sets, any order
        return store.promote(now=T0 + 1, lease=LEASE, endpoints=chosen)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, range(12)))
    promoted = [m for result in results for m, _ in result]
    assert len(promoted) == len(set(promoted)) == 12 * 2
    for name in names:  # the first two of each endpoint, in order
        assert sorted(m for m in promoted if m.startswith(f"msg_{name}_")) == [
            f"msg_{name}_{int(T0)}_0", f"msg_{name}_{int(T0)}_1",
        ]  # fmt: skip
