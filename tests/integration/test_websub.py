"""The WebSub hub with a real subscriber on 127.0.0.1 (the websub.rocks hub cases)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest
from lxml import etree

from tests.feed_rules import (
    ALLOWED_TAGS,
    ATOM,
    findings,
    html_elements,
    html_fields,
    visible_text,
)
from tests.integration.conftest import RedisService, WorkerProcess, auth, wait_until

FEEDS_URL = "http://127.0.0.1:8080/feeds/"  # SYNDICATE_FEEDS_URL's default in the tests


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """Records every request; /cb echoes challenges, /refuse does not, /gone answers 410."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def posts(self, path: str) -> list[Seen]:
        return [item for item in self.seen if item.method == "POST" and item.path == path]

    def gets(self, path: str) -> list[Seen]:
        return [item for item in self.seen if item.method == "GET" and item.path == path]


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    state = Subscriber()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _record(self) -> Seen:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            item = Seen(
                self.command, parts.path, parse_qs(parts.query), dict(self.headers),
                self.rfile.read(length),
            )  # fmt: skip
            state.seen.append(item)
            return item

        def do_GET(self) -> None:
            item = self._record()
            challenge = item.query.get("hub.challenge", [""])[0]
            body = b"nope" if item.path == "/refuse" else challenge.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            item = self._record()
            self.send_response(410 if item.path == "/gone" else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def post_article(api: httpx.Client, title: str, author: str) -> None:
    body = f"{title}\nA description.\nAuthor: {author}\nPart\nWords for {title}.\n"
    response = api.post(
        "/v1/articles", content=body.encode(), headers={**auth(), "Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text


def hub_request(api: httpx.Client, **fields: str) -> httpx.Response:
    return api.post("/websub", data={f"hub.{key}": value for key, value in fields.items()})


def subscribers(redis_service: RedisService, path: str) -> dict[str, float]:
    """Callback -> lease expiry of a document's stored subscriptions."""
    with redis_service.database().connection() as conn:
        rows = conn.execute(
            "SELECT callback, expires_at FROM websub_subscriptions WHERE path = %s", (path,)
        ).fetchall()
    return {str(callback): expires.timestamp() for callback, expires in rows}


def author_feed(api: httpx.Client, redis_service: RedisService) -> tuple[str, str, str]:
    """Publish one article by a new author; (author, feed path, topic URL)."""
    tag = uuid.uuid4().hex[:8]
    author = f"Hub Author {tag}"
    path = f"authors/hub-author-{tag}/atom.xml"
    post_article(api, f"First Light {tag}", author)
    wait_until(lambda: api.get(f"/feeds/{path}").status_code == 200)
    return author, path, FEEDS_URL + path


def test_subscribe_with_secret_and_callback_parameters_then_receive_signed_pushes(
    api: httpx.Client, worker: WorkerProcess, io_worker: WorkerProcess,
    redis_service: RedisService, subscriber: Subscriber,
) -> None:  # fmt: skip
    author, path, topic = author_feed(api, redis_service)
    callback = subscriber.url("/cb") + "?client=7&x=a+b"
    assert hub_request(api, mode="subscribe", topic=topic, callback=callback, secret="s3cret",
                       lease_seconds="7200").status_code == 202  # fmt: skip
    wait_until(lambda: len(subscribers(redis_service, path)) == 1)
    verification = subscriber.gets("/cb")[0]
    assert verification.query["client"] == ["7"] and verification.query["x"] == ["a b"]
    assert verification.query["hub.mode"] == ["subscribe"]
    assert verification.query["hub.topic"] == [topic]
    assert verification.query["hub.lease_seconds"] == ["7200"]

    # Markup-like text in the title: the push must carry it as escaped text.
    post_article(api, f"Second Light <b>{uuid.uuid4().hex[:6]}</b> & co", author)

    def second_push() -> Seen | None:
        # A push of the first version may arrive too, if the subscription was confirmed
        # before that publish run finished; the one to check carries the new article.
        for item in subscriber.posts("/cb"):
            if feedparser.parse(item.body).entries[0].title.startswith("Second Light"):
                return item
        return None

    wait_until(lambda: second_push() is not None, timeout=30)
    push = second_push()
    assert push is not None
    expected = "sha256=" + hmac.new(b"s3cret", push.body, hashlib.sha256).hexdigest()
    assert push.headers["X-Hub-Signature"] == expected
    assert f'<{topic}>; rel="self"' in push.headers["Link"] and 'rel="hub"' in push.headers["Link"]
    assert push.headers["Content-Type"].startswith("application/atom+xml")
    # The push is the published document, so it follows the feeds' text and HTML rules.
    assert push.body == api.get(f"/feeds/{path}").content
    assert [str(finding) for finding in findings("atom", push.body)] == []
    for markup in html_fields("atom", push.body):
        assert {tag for tag, _ in html_elements(markup)} <= ALLOWED_TAGS
    title = etree.fromstring(push.body).find(f"{ATOM}entry/{ATOM}title")
    assert title is not None and title.get("type") == "html"
    assert visible_text(title.text or "").startswith("Second Light <b>")

    # Re-subscribing renews the lease; it does not add a second subscription.
    before = subscribers(redis_service, path)[callback]
    time.sleep(0.05)
    assert hub_request(api, mode="subscribe", topic=topic, callback=callback, secret="s3cret",
                       lease_seconds="7200").status_code == 202  # fmt: skip
    wait_until(lambda: len(subscriber.gets("/cb")) == 2)
    wait_until(lambda: subscribers(redis_service, path)[callback] > before)
    assert len(subscribers(redis_service, path)) == 1

    # Unsubscribing stops the pushes.
    assert hub_request(api, mode="unsubscribe", topic=topic, callback=callback).status_code == 202
    wait_until(lambda: subscribers(redis_service, path) == {})
    pushes = len(subscriber.posts("/cb"))
    post_article(api, f"Third Light {uuid.uuid4().hex[:6]}", author)
    wait_until(lambda: b"Third Light" in api.get(f"/feeds/{path}").content)
    time.sleep(1.5)
    assert len(subscriber.posts("/cb")) == pushes


def test_a_subscriber_that_does_not_echo_the_challenge_is_not_subscribed(
    api: httpx.Client, worker: WorkerProcess, io_worker: WorkerProcess,
    redis_service: RedisService, subscriber: Subscriber,
) -> None:  # fmt: skip
    _, path, topic = author_feed(api, redis_service)
    response = hub_request(api, mode="subscribe", topic=topic, callback=subscriber.url("/refuse"))
    assert response.status_code == 202
    wait_until(lambda: len(subscriber.gets("/refuse")) == 1)
    time.sleep(0.3)
    assert subscribers(redis_service, path) == {}


def test_unknown_topics_are_denied(
    api: httpx.Client, io_worker: WorkerProcess, subscriber: Subscriber
) -> None:
    topic = FEEDS_URL + "authors/nobody-here/atom.xml"
    assert (
        hub_request(api, mode="subscribe", topic=topic, callback=subscriber.url("/cb")).status_code
        == 202
    )
    wait_until(lambda: len(subscriber.gets("/cb")) == 1)
    denial = subscriber.gets("/cb")[0]
    assert denial.query["hub.mode"] == ["denied"]
    assert denial.query["hub.topic"] == [topic]
    assert "hub.challenge" not in denial.query


def test_a_410_removes_the_subscription(
    api: httpx.Client, worker: WorkerProcess, io_worker: WorkerProcess,
    redis_service: RedisService, subscriber: Subscriber,
) -> None:  # fmt: skip
    author, path, topic = author_feed(api, redis_service)
    assert (
        hub_request(
            api, mode="subscribe", topic=topic, callback=subscriber.url("/gone")
        ).status_code
        == 202
    )
    # A push may come at once (a publish of the first article still running) and the 410
    # remove the subscription before a poll sees it: either shows it was verified.
    wait_until(
        lambda: len(subscribers(redis_service, path)) == 1 or bool(subscriber.posts("/gone"))
    )
    post_article(api, f"Gone Light {uuid.uuid4().hex[:6]}", author)
    wait_until(lambda: len(subscriber.posts("/gone")) >= 1, timeout=30)
    wait_until(lambda: subscribers(redis_service, path) == {})
    gone = len(subscriber.posts("/gone"))
    post_article(api, f"After Gone {uuid.uuid4().hex[:6]}", author)
    wait_until(lambda: b"After Gone" in api.get(f"/feeds/{path}").content)
    time.sleep(1.0)
    assert len(subscriber.posts("/gone")) == gone  # removed: no more pushes


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {
                "mode": "subscribe",
                "topic": FEEDS_URL + "atom.xml",
                "callback": "http://10.1.2.3/cb",
            },
            "not public",
        ),
        (
            {
                "mode": "subscribe",
                "topic": FEEDS_URL + "atom.xml",
                "callback": "http://169.254.169.254/",
            },
            "not public",
        ),
        (
            {
                "mode": "subscribe",
                "topic": FEEDS_URL + "atom.xml",
                "callback": "ftp://example.com/",
            },
            "http and https",
        ),
        (
            {"mode": "publish", "topic": FEEDS_URL + "atom.xml", "callback": "http://127.0.0.1/"},
            "hub.mode",
        ),
        ({"mode": "subscribe", "topic": FEEDS_URL + "atom.xml", "callback": ""}, "required"),
    ],
)
def test_bad_hub_requests_are_400(api: httpx.Client, fields: dict[str, str], message: str) -> None:
    response = hub_request(api, **fields)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
