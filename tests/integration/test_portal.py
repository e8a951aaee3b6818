"""The partner portal over real HTTP, with the real PostgreSQL and Redis of the session.

No worker runs here: messages are made and finished through the real webhook store,
so that each page has known data (browser tests deliver for real).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from config.settings import Settings
from feeds.pages import tokens
from feeds.pages.keys import rotate_key, signing_key
from feeds.pages.web import CONTENT_SECURITY_POLICY
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import SubscriptionChanges
from feeds.webhooks.store import Attempt, NewMessage, new_message_id
from tests.integration.conftest import ROOT, RedisService, auth, service_env
from worker.store import Store

HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def webhooks(store: Store, settings: Settings) -> Webhooks:
    return Webhooks(store, settings)


@pytest.fixture
def endpoints(webhooks: Webhooks) -> Iterator[list[str]]:
    """Two endpoints; a hostile description on each."""
    made = []
    for name in ("one", "two"):
        changes = SubscriptionChanges(
            url=f"http://127.0.0.1:9/{name}-{uuid.uuid4().hex[:6]}", description=HOSTILE
        )
        made.append(webhooks.subscribe(changes)[0].id)
    yield made
    for endpoint_id in made:
        webhooks.delete(endpoint_id)


def make_message(webhooks: Webhooks, endpoint_id: str, *, body: bytes = b"{}",
                 event: str = "webhook.test") -> str:  # fmt: skip
    message_id = new_message_id()
    new = NewMessage(message_id, endpoint_id, event, body)
    webhooks.store.create_messages([new], now=time.time())
    return message_id


def make_dead(webhooks: Webhooks, endpoint_id: str, *, body: bytes, response: str) -> str:
    """A message that failed for good, its one attempt answered with ``response``."""
    message_id = make_message(webhooks, endpoint_id, body=body)
    now = time.time()
    promoted = dict(webhooks.store.promote(now=now, lease=60, endpoint_id=endpoint_id))
    taken = webhooks.store.take(message_id, promoted[message_id], now=now, guard=30)
    assert taken is not None
    attempt = Attempt(at=now, status=500, latency_ms=12.7, outcome="dead", response=response,
                      reason="the schedule is exhausted")  # fmt: skip
    webhooks.store.finish(taken[0], promoted[message_id], "dead", now=now, attempt=attempt,
                          status=500)  # fmt: skip
    return message_id


def signed_in(api: httpx.Client, endpoint_id: str) -> httpx.Client:
    """A client holding a portal session of ``endpoint_id`` (opened through the API's link)."""
    made = api.post(f"/v1/subscriptions/{endpoint_id}/portal-link", headers=auth(),
                    json={"ttl": "1h"})  # fmt: skip
    assert made.status_code == 200, made.text
    link = urlsplit(made.json()["url"])
    client = httpx.Client(base_url=str(api.base_url), timeout=10)
    entered = client.get(f"{link.path}?{link.query}")
    assert entered.status_code == 200, entered.text
    return client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_a_link_opens_a_session_with_strict_cookie_and_headers(api, endpoints) -> None:
    made = api.post(f"/v1/subscriptions/{endpoints[0]}/portal-link", headers=auth())
    link = urlsplit(made.json()["url"])
    assert link.path == "/portal/enter"
    entered = httpx.get(f"{api.base_url}{link.path}?{link.query}")
    cookie = entered.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # served over http here; https adds it
    assert entered.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY  # so no script runs at all
    assert "<script" not in entered.text


def test_the_link_route_needs_the_api_token_and_a_real_endpoint(api, endpoints) -> None:
    assert api.post(f"/v1/subscriptions/{endpoints[0]}/portal-link").status_code == 401
    missing = api.post("/v1/subscriptions/ep_nothing/portal-link", headers=auth())
    assert missing.status_code == 404
    bad_ttl = api.post(f"/v1/subscriptions/{endpoints[0]}/portal-link", headers=auth(),
                       json={"ttl": "400d"})  # fmt: skip
    assert bad_ttl.status_code == 422 and "ttl" in bad_ttl.json()["error"]["message"]


def test_endpoint_page_shows_its_own_endpoint_escaped(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    shown = client.get("/portal/")
    assert shown.status_code == 200
    own, other = (webhooks.endpoint(e) for e in endpoints)
    assert own.url in shown.text and other.url not in shown.text
    assert HOSTILE not in shown.text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in shown.text
    assert "<svg" in shown.text and "Deliveries per hour" in shown.text


def test_endpoint_page_shows_its_rate_limit_and_ordering(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    assert "Rate limit</th><td>none" in client.get("/portal/").text
    webhooks.update(endpoints[0], SubscriptionChanges(rate_limit=5, ordering="fifo"))
    shown = client.get("/portal/").text
    assert "5 messages per second" in shown
    assert "FIFO: each message waits" in shown


def test_a_message_of_another_endpoint_can_be_neither_read_nor_replayed(
    api, endpoints, webhooks
) -> None:
    foreign = make_dead(webhooks, endpoints[1], body=b'{"n": 1}', response="no")
    client = signed_in(api, endpoints[0])
    assert client.get(f"/portal/messages/{foreign}").status_code == 404
    listed = client.get("/portal/messages")
    assert foreign not in listed.text
    csrf = csrf_of(client.get("/portal/"))
    replayed = client.post(f"/portal/messages/{foreign}/replay", data={"csrf": csrf})
    assert replayed.status_code == 404
    assert webhooks.message(foreign).status == "dead"


def test_a_session_cannot_be_pointed_at_another_endpoint(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    # Addresses carry no endpoint: whatever is asked for, the session's endpoint answers.
    for path in (f"/portal/?endpoint={endpoints[1]}", f"/portal/messages?endpoint={endpoints[1]}"):
        assert webhooks.endpoint(endpoints[1]).url not in client.get(path).text
    # A cookie edited to name the other endpoint is a forgery.
    token = client.cookies["syndicate_portal"]
    version, payload, mac = token.split(".")
    claims = json.loads(tokens._unb64(payload)) | {"sub": endpoints[1]}
    forged = f"{version}.{tokens._b64(json.dumps(claims).encode())}.{mac}"
    refused = httpx.get(f"{api.base_url}/portal/", cookies={"syndicate_portal": forged})
    assert refused.status_code == 403 and "not valid" in refused.text


def test_forms_without_the_sessions_csrf_token_are_refused(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    other = signed_in(api, endpoints[1])
    others_csrf = csrf_of(other.get("/portal/"))
    assert client.post("/portal/disable", data={"enabled": "0"}).status_code == 403
    assert client.post("/portal/disable", data={"csrf": others_csrf}).status_code == 403
    assert webhooks.endpoint(endpoints[0]).enabled
    # A cross-site form would not carry the cookie (SameSite=Strict) nor the token.
    done = client.post("/portal/disable", data={"csrf": csrf_of(client.get("/portal/"))})
    assert done.status_code == 303
    assert not webhooks.endpoint(endpoints[0]).enabled


def test_expired_forged_and_revoked_links_are_refused(api, endpoints, settings) -> None:
    key = signing_key(settings)
    expired = tokens.sign(key, tokens.Grant("portal", endpoints[0], time.time() - 1))
    answer = httpx.get(f"{api.base_url}/portal/enter", params={"token": expired})
    assert answer.status_code == 403 and "expired" in answer.text
    assert "set-cookie" not in answer.headers
    forged = tokens.sign(b"another key", tokens.Grant("portal", endpoints[0], time.time() + 60))
    assert httpx.get(f"{api.base_url}/portal/enter", params={"token": forged}).status_code == 403
    operator = tokens.sign(key, tokens.Grant("operator", endpoints[0], time.time() + 60))
    assert httpx.get(f"{api.base_url}/portal/enter", params={"token": operator}).status_code == 403
    assert httpx.get(f"{api.base_url}/portal/").status_code == 401


def test_message_detail_escapes_payload_and_response(api, endpoints, webhooks) -> None:
    body = json.dumps({"type": "webhook.test", "data": {"title": HOSTILE}}).encode()
    response = HOSTILE + "x" * 2000
    message_id = make_dead(webhooks, endpoints[0], body=body, response=response)
    client = signed_in(api, endpoints[0])
    detail = client.get(f"/portal/messages/{message_id}")
    assert detail.status_code == 200
    assert HOSTILE not in detail.text and "<img" not in detail.text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in detail.text
    assert "x" * 900 in detail.text and "x" * 1100 not in detail.text  # the first KiB
    assert "cut at 1 KiB" in detail.text and "500" in detail.text and "13 ms" in detail.text
    legend = re.search(r'<ul class="legend">(.*?)</ul>', client.get("/portal/").text)
    assert legend is not None
    assert re.sub(r"<[^>]+>", " ", legend.group(1)).split() == [
        "0", "delivered", "0", "retried", "1", "dead", "total", "1",
    ]  # fmt: skip


def test_messages_are_filtered_and_paginated_newest_first(api, endpoints, webhooks) -> None:
    dead = make_dead(webhooks, endpoints[0], body=b"{}", response="")  # the cap is 1: first
    made = [make_message(webhooks, endpoints[0]) for _ in range(55)]
    client = signed_in(api, endpoints[0])
    first = client.get("/portal/messages", params={"type": "webhook.test"})
    shown = re.findall(r'href="/portal/messages/(msg_\w+)"', first.text)
    assert shown == made[::-1][:50]
    older = re.search(r'href="(/portal/messages\?[^"]*before=\d+[^"]*)" id="older"', first.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    rest = re.findall(r'href="/portal/messages/(msg_\w+)"', second.text)
    assert set(shown).isdisjoint(rest) and set(shown) | set(rest) == {dead, *made}
    assert 'id="older"' not in second.text
    only_dead = client.get("/portal/messages", params={"status": "dead"})
    assert re.findall(r'href="/portal/messages/(msg_\w+)"', only_dead.text) == [dead]
    none = client.get("/portal/messages", params={"type": "article.deleted"})
    assert "No message matches" in none.text
    bad = client.get("/portal/messages", params={"status": "<b>gone</b>"})
    assert bad.status_code == 422 and "<b>gone" not in bad.text
    for cursor in ("nonsense", "2026-01-01T00:00:00~x", "2026-01-01T00:00:00~1", "~" + "9" * 30):
        assert client.get("/portal/messages", params={"before": cursor}).status_code == 422


def test_actions_change_only_the_sessions_endpoint(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    csrf = csrf_of(client.get("/portal/"))
    dead = make_dead(webhooks, endpoints[0], body=b"{}", response="")
    replayed = client.post(f"/portal/messages/{dead}/replay", data={"csrf": csrf})
    # Out of the dead letters: due again, or already taken by the session's I/O worker.
    assert replayed.status_code == 303
    assert webhooks.message(dead).status in ("scheduled", "queued", "delivered")
    assert client.post("/portal/test", data={"csrf": csrf}).status_code == 303
    tests = webhooks.store.messages(endpoint_id=endpoints[0])
    assert any(m.type == "webhook.test" for m in tests)
    filters = {"csrf": csrf, "events": "article.deleted", "authors": "Ann Lee, Bo", "tags": ""}
    assert client.post("/portal/filters", data=filters).status_code == 303
    changed = webhooks.endpoint(endpoints[0])
    assert changed.events == ("article.deleted",) and changed.authors == ("Ann Lee", "Bo")
    refused = client.post("/portal/filters", data={"csrf": csrf, "authors": "x"})
    assert refused.status_code == 422 and "events" in refused.text
    rotated = client.post("/portal/rotate-secret", data={"csrf": csrf, "grace": "2h"})
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', rotated.text)
    assert secret is not None and rotated.headers["cache-control"] == "no-store"
    secrets = webhooks.endpoint(endpoints[0]).secrets
    assert secrets[0].value == secret.group(1) and secrets[1].expires is not None
    assert 7100 < secrets[1].expires - time.time() < 7300
    assert client.post("/portal/disable", data={"csrf": csrf}).status_code == 303
    assert not webhooks.endpoint(endpoints[0]).enabled
    assert client.post("/portal/enable", data={"csrf": csrf}).status_code == 303
    assert webhooks.endpoint(endpoints[0]).enabled
    untouched = webhooks.endpoint(endpoints[1])
    assert untouched.enabled and len(untouched.secrets) == 1 and untouched.authors == ()


def test_recover_sends_again_what_failed_since_a_time(api, endpoints, webhooks) -> None:
    client = signed_in(api, endpoints[0])
    csrf = csrf_of(client.get("/portal/"))
    dead = make_dead(webhooks, endpoints[0], body=b"{}", response="")
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 120))
    assert client.post("/portal/recover", data={"csrf": csrf, "since": since}).status_code == 303
    # Out of the dead letters: due again, or already taken by the session's I/O worker.
    assert webhooks.message(dead).status in ("scheduled", "queued", "delivered")
    bad = client.post("/portal/recover", data={"csrf": csrf, "since": "yesterday"})
    assert bad.status_code == 422


def test_rotating_the_key_revokes_every_session(api, endpoints, settings) -> None:
    client = signed_in(api, endpoints[0])
    assert client.get("/portal/").status_code == 200
    rotate_key(settings)
    refused = client.get("/portal/")
    assert refused.status_code == 403 and "rotated" in refused.text
    assert signed_in(api, endpoints[0]).get("/portal/").status_code == 200


def test_sign_out_ends_the_session(api, endpoints) -> None:
    client = signed_in(api, endpoints[0])
    csrf = csrf_of(client.get("/portal/"))
    assert client.post("/portal/sign-out", data={"csrf": csrf}).status_code == 200
    assert client.get("/portal/").status_code == 401


def syndicate(redis_service: RedisService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", *args],
        env=service_env(redis_service), cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_the_link_command_prints_a_working_link(api, endpoints, redis_service) -> None:
    made = syndicate(redis_service, "portal", "link", endpoints[0], "--ttl", "2h")
    assert made.returncode == 0, made.stderr
    link = urlsplit(made.stdout.strip())
    assert link.path == "/portal/enter" and "valid until" in made.stderr
    client = httpx.Client(base_url=str(api.base_url), timeout=10)
    assert client.get(f"{link.path}?{link.query}").status_code == 200
    assert endpoints[0] in client.get("/portal/").text
    missing = syndicate(redis_service, "portal", "link", "ep_nothing")
    assert missing.returncode == 2 and "no webhook endpoint" in missing.stderr
    bad_ttl = syndicate(redis_service, "portal", "link", endpoints[0], "--ttl", "soon")
    assert bad_ttl.returncode == 2 and "--ttl" in bad_ttl.stderr


def test_a_partner_link_shows_each_of_its_endpoints_and_no_other(api, endpoints, webhooks) -> None:
    third = webhooks.subscribe(SubscriptionChanges(url="http://127.0.0.1:9/third"))[0]
    try:
        wanted = {"endpoints": endpoints, "partner": "<b>Acme</b>", "ttl": 600}
        made = api.post("/v1/portal-links", headers=auth(), json=wanted)
        assert made.status_code == 200, made.text
        link = urlsplit(made.json()["url"])
        client = httpx.Client(base_url=str(api.base_url), timeout=10)
        client.get(f"{link.path}?{link.query}")
        first = client.get("/portal/")
        urls = [webhooks.endpoint(e).url for e in endpoints]
        assert 'id="endpoint-url">' + urls[0] in first.text
        assert "&lt;b&gt;Acme&lt;/b&gt;" in first.text and third.url not in first.text
        csrf = csrf_of(first)
        switched = client.post("/portal/switch", data={"csrf": csrf, "endpoint": endpoints[1]})
        assert switched.status_code == 303
        assert 'id="endpoint-url">' + urls[1] in client.get("/portal/").text
        refused = client.post("/portal/switch", data={"csrf": csrf, "endpoint": third.id})
        assert refused.status_code == 404
        client.cookies.set("syndicate_portal_endpoint", third.id, path="/portal")
        assert third.url not in client.get("/portal/").text  # not in the link: the first
        foreign = make_message(webhooks, third.id)
        assert client.get(f"/portal/messages/{foreign}").status_code == 404
    finally:
        webhooks.delete(third.id)


def test_partner_links_need_a_name_and_real_endpoints(api, endpoints, redis_service) -> None:
    unnamed = api.post("/v1/portal-links", headers=auth(), json={"endpoints": endpoints})
    assert unnamed.status_code == 422 and "partner" in unnamed.text
    missing = api.post("/v1/portal-links", headers=auth(),
                       json={"endpoints": [endpoints[0], "ep_gone"], "partner": "A"})  # fmt: skip
    assert missing.status_code == 404
    assert api.post("/v1/portal-links", json={"endpoints": endpoints}).status_code == 401
    cli = syndicate(redis_service, "portal", "link", *endpoints)
    assert cli.returncode == 2 and "--partner" in cli.stderr
    named = syndicate(redis_service, "portal", "link", *endpoints, "--partner", "Acme")
    assert named.returncode == 0 and "/portal/enter?token=" in named.stdout
