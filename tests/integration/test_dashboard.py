"""The operator dashboard over real HTTP, with the session's real PostgreSQL and Redis."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from config.settings import Settings
from feeds.pages.web import CONTENT_SECURITY_POLICY
from feeds.webhooks.service import Webhooks
from feeds.webhooks.spec import SubscriptionChanges
from tests.integration.conftest import API_TOKEN
from tests.integration.test_portal import HOSTILE, make_dead
from worker.status import QUEUES, gather
from worker.store import Store


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None, text
    return found.group(1)


def operator(api: httpx.Client, token: str = API_TOKEN) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=str(api.base_url), timeout=10)
    form = client.get("/dashboard/sign-in")
    answer = client.post("/dashboard/sign-in", data={"csrf": csrf_of(form.text), "token": token})
    return client, answer


@pytest.fixture
def signed_in(api: httpx.Client) -> httpx.Client:
    client, answer = operator(api)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    return client


def test_the_dashboard_needs_a_sign_in(api) -> None:
    answer = httpx.get(f"{api.base_url}/dashboard")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"
    form = httpx.get(f"{api.base_url}/dashboard/sign-in")
    assert form.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    _, wrong = operator(api, "not-the-token")
    assert wrong.status_code == 403 and "set-cookie" not in wrong.headers
    no_csrf = httpx.post(f"{api.base_url}/dashboard/sign-in", data={"token": API_TOKEN})
    assert no_csrf.status_code == 403 and "set-cookie" not in no_csrf.headers


def test_sign_in_sets_a_strict_session_cookie(api) -> None:
    _, answer = operator(api)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "syndicate_operator" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie


def test_it_shows_what_syndicate_status_gathers(
    signed_in, store: Store, settings: Settings
) -> None:
    page = signed_in.get("/dashboard")
    assert page.status_code == 200
    status = gather(store.client, store, broker=settings.broker_url)
    for queue in QUEUES:
        row = re.search(rf'data-queue="{queue}">.*?class="depth">(\d+)<', page.text)
        assert row is not None and int(row.group(1)) == status["queues"][queue]["depth"]
    assert status["postgres"]["version"] in page.text
    assert "Ingest: articles stored per minute" in page.text and page.text.count("<svg") == 2


def test_failures_are_escaped_and_can_be_discarded(signed_in, store: Store) -> None:
    entry = store.record_rejected(raw=b"x", error=HOSTILE, content_type="text/plain",
                                  at=time.time())  # fmt: skip
    page = signed_in.get("/dashboard")
    assert f"rej_{entry}" in page.text
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    refused = signed_in.post(f"/dashboard/failures/rej_{entry}/discard", data={"csrf": "x"})
    assert refused.status_code == 403
    done = signed_in.post(f"/dashboard/failures/rej_{entry}/discard",
                          data={"csrf": csrf_of(page.text)})  # fmt: skip
    assert done.status_code == 303
    assert f"rej_{entry}" not in signed_in.get("/dashboard").text


def test_a_dead_letter_is_replayed_from_the_dashboard(
    signed_in, store: Store, settings: Settings
) -> None:
    webhooks = Webhooks(store, settings)
    endpoint = webhooks.subscribe(SubscriptionChanges(url="http://127.0.0.1:9/dash"))[0]
    try:
        dead = make_dead(webhooks, endpoint.id, body=b"{}", response="")
        page = signed_in.get("/dashboard")
        assert dead in page.text
        answer = signed_in.post(f"/dashboard/messages/{dead}/replay",
                                data={"csrf": csrf_of(page.text)})  # fmt: skip
        assert answer.status_code == 303
        # Out of the dead letters: due again, or already taken by the session's I/O worker.
        assert webhooks.message(dead).status in ("scheduled", "queued")
    finally:
        webhooks.delete(endpoint.id)


def test_sign_out_ends_the_session(signed_in) -> None:
    csrf = csrf_of(signed_in.get("/dashboard").text)
    assert signed_in.post("/dashboard/sign-out", data={"csrf": csrf}).status_code == 303
    assert signed_in.get("/dashboard").status_code == 303
