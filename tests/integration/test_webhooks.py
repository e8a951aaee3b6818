"""Webhooks end to end: real API, real Celery workers and beat, real receivers on 127.0.0.1.

Each test subscribes its endpoints with a tag of its own and tags its articles with it,
so the endpoints of one test never see another test's articles.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import pytest
from standardwebhooks.webhooks import Webhook
from svix.webhooks import Webhook as SvixWebhook

from tests.integration.conftest import ROOT, auth, wait_until
from tests.integration.receiver import Received, Receiver, running_receiver

SCHEMA = json.loads((ROOT / "docs" / "webhook-payload.schema.json").read_text())

pytestmark = pytest.mark.usefixtures("worker", "io_worker", "beat")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def tag() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def subscribe(api: httpx.Client) -> Iterator:
    created: list[str] = []

    def make(url: str, **fields: object) -> dict:
        response = api.post("/v1/subscriptions", json={"url": url, **fields}, headers=auth())
        assert response.status_code == 201, response.text
        body = response.json()
        created.append(body["id"])
        return body

    yield make
    for endpoint_id in created:
        api.delete(f"/v1/subscriptions/{endpoint_id}", headers=auth())


def post_article(
    api: httpx.Client, title: str, tag: str, *, words: str = "", author: str = "Ann Lee"
) -> str:
    body = (
        f"{title}\nA description of {title}.\nAuthor: {author}\nTags: {tag}\n"
        f"The start\nIt begins here. {words}\nThe end\nIt ends there.\n"
    )
    response = api.post(
        "/v1/articles", content=body.encode(), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def arrived(receiver: Receiver, path: str, count: int = 1, timeout: float = 30) -> list[Received]:
    wait_until(lambda: len(receiver.received(path)) >= count, timeout=timeout)
    return receiver.received(path)


def verified(secret: str, request: Received) -> dict:
    """The payload, verified with the official library exactly as a partner would."""
    payload = Webhook(secret).verify(request.body, request.headers)
    SvixWebhook(secret).verify(request.body, request.headers)
    jsonschema.validate(payload, SCHEMA)
    return payload


def message_status(api: httpx.Client, message_id: str) -> dict:
    response = api.get(f"/v1/messages/{message_id}", headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def test_published_updated_deleted_arrive_signed_and_verify(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/hook"), tags=[tag])
    assert endpoint["secret"].startswith("whsec_")
    title = f"Signed {tag}"
    article_id = post_article(api, title, tag)

    [first] = arrived(receiver, "/hook")
    payload = verified(endpoint["secret"], first)
    assert payload["type"] == "article.published"
    assert payload["data"]["id"] == article_id and payload["data"]["version"] == 1
    assert payload["data"]["title"] == title
    assert [s["heading"] for s in payload["data"]["sections"]] == ["The start", "The end"]
    assert any(f["atom"].endswith("/feeds/atom.xml") for f in payload["data"]["feeds"])

    post_article(api, title, tag)  # the same content again: nothing is sent
    post_article(api, title, tag, words="A new sentence changes the first section.")
    second = arrived(receiver, "/hook", 2)[1]
    payload = verified(endpoint["secret"], second)
    assert payload["type"] == "article.updated"
    assert payload["data"]["version"] == 2
    assert payload["data"]["changed_sections"] == ["The start"]

    assert api.delete(f"/v1/articles/{article_id}", headers=auth()).status_code == 202
    third = arrived(receiver, "/hook", 3)[2]
    payload = verified(endpoint["secret"], third)
    assert payload["type"] == "article.deleted" and payload["data"]["version"] == 3
    time.sleep(1.5)
    assert len(receiver.received("/hook")) == 3  # the unchanged re-submission sent nothing
    ids = {r.headers["webhook-id"] for r in receiver.received("/hook")}
    assert len(ids) == 3


def test_a_failing_endpoint_is_retried_with_the_same_webhook_id(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/flaky", "fail:2"), tags=[tag])
    post_article(api, f"Flaky {tag}", tag)
    requests = arrived(receiver, "/flaky", 3)
    assert [r.status for r in requests] == [500, 500, 204]
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    for request in requests:
        verified(endpoint["secret"], request)
    assert requests[1].at - requests[0].at >= 0.7  # 1 s ±20 % by the compressed schedule
    message_id = requests[0].headers["webhook-id"]
    wait_until(lambda: message_status(api, message_id)["status"] == "delivered")
    log = message_status(api, message_id)["attempt_log"]
    assert [a["status"] for a in log] == [500, 500, 204]
    assert [a["outcome"] for a in log] == ["retry", "retry", "delivered"]


def test_a_slow_endpoint_times_out_and_does_not_delay_the_others(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    subscribe(receiver.url("/slow", "slow:3"), tags=[tag])
    subscribe(receiver.url("/fast"), tags=[tag])
    post_article(api, f"Slow {tag}", tag)
    [fast] = arrived(receiver, "/fast")
    wait_until(lambda: receiver.begun("/slow") >= 1)
    # Sent one after the other, the fast endpoint would wait out the slow one's 2.5 s
    # deadline (1 s connect + 1.5 s); in parallel it does not wait at all.
    assert abs(fast.at - receiver.begun_at["/slow"][0]) < 2.0
    [slow] = arrived(receiver, "/slow")
    message_id = slow.headers["webhook-id"]
    wait_until(lambda: len(message_status(api, message_id)["attempt_log"]) >= 1)
    first = message_status(api, message_id)["attempt_log"][0]
    assert first["status"] is None and first["error"] == "timeout"
    assert first["outcome"] == "retry"


def test_410_disables_the_endpoint_and_enabling_sends_what_was_held(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/gone", "always:410"), tags=[tag])
    post_article(api, f"Gone {tag}", tag)
    [request] = arrived(receiver, "/gone")
    wait_until(
        lambda: not api.get(f"/v1/subscriptions/{endpoint['id']}", headers=auth()).json()["enabled"]
    )
    shown = api.get(f"/v1/subscriptions/{endpoint['id']}", headers=auth()).json()
    assert shown["disabled_reason"] == "endpoint answered 410 Gone"
    assert "secret" not in shown
    post_article(api, f"Gone again {tag}", tag)  # kept while disabled, not sent
    time.sleep(1.5)
    assert len(receiver.received("/gone")) == 1
    held = api.get(f"/v1/subscriptions/{endpoint['id']}/messages?status=held", headers=auth())
    assert len(held.json()["messages"]) == 2

    receiver.behave("/gone", "ok")
    enabled = api.post(f"/v1/subscriptions/{endpoint['id']}/enable", headers=auth()).json()
    assert enabled["rescheduled"] == 2
    requests = arrived(receiver, "/gone", 3)
    assert requests[1].headers["webhook-id"] == request.headers["webhook-id"]


def test_429_retry_after_is_honoured(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    subscribe(receiver.url("/busy", "retry-after:2"), tags=[tag])
    post_article(api, f"Busy {tag}", tag)
    first, second = arrived(receiver, "/busy", 2)
    assert first.status == 429 and second.status == 204
    assert second.at - first.at >= 1.9  # Retry-After: 2 replaces the 1 s of the schedule


def test_redirects_are_not_followed_and_end_in_the_dead_letters(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/moved", "redirect"), tags=[tag])
    post_article(api, f"Moved {tag}", tag)
    requests = arrived(receiver, "/moved", 3)
    message_id = requests[0].headers["webhook-id"]
    wait_until(lambda: message_status(api, message_id)["status"] == "dead")
    assert receiver.received("/redirected") == []
    shown = message_status(api, message_id)
    assert [a["status"] for a in shown["attempt_log"]] == [301, 301, 301]
    assert "redirect" in shown["attempt_log"][-1]["reason"]
    dead = api.get(f"/v1/subscriptions/{endpoint['id']}/messages?status=dead", headers=auth())
    assert [m["id"] for m in dead.json()["messages"]] == [message_id]

    receiver.behave("/moved", "ok")
    replayed = api.post(f"/v1/subscriptions/{endpoint['id']}/replay-dead", headers=auth())
    assert replayed.json()["rescheduled"] == 1
    fourth = arrived(receiver, "/moved", 4)[3]
    assert fourth.headers["webhook-id"] == message_id and fourth.status == 204


def test_rotation_signs_with_both_secrets(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/rotate"), tags=[tag])
    rotated = api.post(f"/v1/subscriptions/{endpoint['id']}/rotate-secret", headers=auth())
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    post_article(api, f"Rotate {tag}", tag)
    [request] = arrived(receiver, "/rotate")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(endpoint["secret"], request)
    verified(new_secret, request)


def test_a_dead_letter_replayed_twice_at_once_is_sent_once(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    endpoint = subscribe(receiver.url("/replay", "always:500"), tags=[tag])
    post_article(api, f"Replay {tag}", tag)
    original = arrived(receiver, "/replay", 3)[0]
    message_id = original.headers["webhook-id"]
    wait_until(lambda: message_status(api, message_id)["status"] == "dead")
    receiver.behave("/replay", "ok")

    def replay(_: int) -> bool:
        response = api.post(f"/v1/messages/{message_id}/replay", headers=auth())
        assert response.status_code in (202, 409), response.text
        return response.status_code == 202 and bool(response.json()["rescheduled"])

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(replay, range(4)))
    assert outcomes.count(True) == 1
    replayed = arrived(receiver, "/replay", 4)[3]
    assert replayed.headers["webhook-id"] == message_id
    assert replayed.body == original.body
    verified(endpoint["secret"], replayed)
    wait_until(lambda: message_status(api, message_id)["status"] == "delivered")
    time.sleep(1.5)
    assert len(receiver.received("/replay")) == 4

    refused = api.post(f"/v1/messages/{message_id}/replay", headers=auth())
    assert refused.status_code == 409  # delivered: only a forced replay sends it again
    forced = api.post(f"/v1/messages/{message_id}/replay?force=true", headers=auth())
    assert forced.json()["rescheduled"] is True
    assert arrived(receiver, "/replay", 5)[4].headers["webhook-id"] == message_id


def test_filters_by_event_type_author_and_tag(
    api: httpx.Client, receiver: Receiver, subscribe, tag: str
) -> None:
    subscribe(receiver.url("/deletes"), tags=[tag], events=["article.deleted"])
    subscribe(receiver.url("/by-bo"), tags=[tag], authors=["bo-ek"])
    other_tag = tag + "x"
    subscribe(receiver.url("/other-tag"), tags=[other_tag])
    by_ann = post_article(api, f"Filter Ann {tag}", tag, author="Ann Lee")
    post_article(api, f"Filter Bo {tag}", tag, author="Bo Ek")
    [bo] = arrived(receiver, "/by-bo")
    assert json.loads(bo.body)["data"]["authors"] == ["Bo Ek"]
    api.delete(f"/v1/articles/{by_ann}", headers=auth())
    [deleted] = arrived(receiver, "/deletes")
    assert json.loads(deleted.body)["type"] == "article.deleted"
    time.sleep(1.5)
    assert len(receiver.received("/deletes")) == 1
    assert len(receiver.received("/by-bo")) == 1
    assert receiver.received("/other-tag") == []


def test_test_event(api: httpx.Client, receiver: Receiver, subscribe) -> None:
    endpoint = subscribe(receiver.url("/test-event"), tags=["never-used-" + uuid.uuid4().hex])
    response = api.post(f"/v1/subscriptions/{endpoint['id']}/test", headers=auth())
    assert response.status_code == 202
    [request] = arrived(receiver, "/test-event")
    payload = verified(endpoint["secret"], request)
    assert payload["type"] == "webhook.test"
    assert request.headers["webhook-id"] == response.json()["message_id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:10.0.0.1]/",
        "http://0x0a000001/",
        "ftp://127.0.0.1/",
    ],
)
def test_private_addresses_are_refused_at_subscription(api: httpx.Client, url: str) -> None:
    response = api.post("/v1/subscriptions", json={"url": url}, headers=auth())
    assert response.status_code == 422
    assert response.json()["error"]["code"] in ("address_refused", "invalid_request")


def test_subscriptions_need_the_token(api: httpx.Client) -> None:
    assert api.get("/v1/subscriptions").status_code == 401
    response = api.post("/v1/subscriptions", json={"url": "http://127.0.0.1/"})
    assert response.status_code == 401


def test_secrets_are_shown_only_at_creation(
    api: httpx.Client, receiver: Receiver, subscribe
) -> None:
    endpoint = subscribe(receiver.url("/secretive"), tags=["never-" + uuid.uuid4().hex])
    listed = api.get("/v1/subscriptions", headers=auth()).text
    shown = api.get(f"/v1/subscriptions/{endpoint['id']}", headers=auth()).text
    assert endpoint["secret"] not in listed and endpoint["secret"] not in shown
    assert "whsec_" not in listed + shown
