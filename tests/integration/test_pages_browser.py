"""The portal and the dashboard in a real browser (Debian's Chromium under Playwright)
against a live ``syndicate up``, with a real webhook receiver on 127.0.0.1.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from feeds.pages.web import CONTENT_SECURITY_POLICY
from tests.integration.conftest import free_port, wait_until
from tests.integration.live_stack import LiveStack, browser_missing, chromium
from tests.integration.receiver import Receiver, running_receiver
from tests.postgres import ScratchDatabases

if (why := browser_missing()) is not None:
    pytest.skip(why, allow_module_level=True)

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture(scope="module")
def stack(databases: ScratchDatabases) -> Iterator[LiveStack]:
    live = LiveStack(databases.create("pages"), free_port())
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies), failing the test on any dialog (a script ran)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    context.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_a_partner_finds_a_dead_message_replays_it_and_the_receiver_gets_it(
    stack: LiveStack, page: Any, receiver: Receiver
) -> None:
    path = f"/partner-{uuid.uuid4().hex[:6]}"
    endpoint = stack.subscribe(receiver.url(path, "fail:2"), description=HOSTILE)
    sent = stack.api.post(f"/v1/subscriptions/{endpoint['id']}/test", headers=stack.auth())
    message_id = sent.json()["message_id"]
    # Two attempts (schedule 0, 1s), both answered 500: a dead letter.
    wait_until(lambda: _status(stack, message_id) == "dead", timeout=60, interval=0.2)

    answer = page.goto(stack.portal_link(endpoint["id"]))
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.wait_for_url("**/portal/")
    assert page.locator("#endpoint-url").inner_text() == endpoint["url"]
    assert HOSTILE in page.locator("#endpoint").inner_text()  # shown as text, not run
    page.click("text=Dead letters")
    page.click(f"text={message_id}")
    assert page.locator("#message-state").inner_text() == "dead"
    assert page.locator("tr.attempt").count() == 2
    page.click("#replay")
    assert "scheduled to be sent again" in page.locator("#notice").inner_text()

    wait_until(lambda: receiver.begun(path) >= 3, timeout=30)
    ids = {request.headers["webhook-id"] for request in receiver.received(path)}
    assert ids == {message_id}  # the same message, the third time delivered
    wait_until(lambda: _status(stack, message_id) == "delivered", timeout=30)
    page.reload()
    assert page.locator("#message-state").inner_text() == "delivered"
    assert page.locator("tr.attempt").count() == 3


def test_a_partner_edits_filters_and_rotates_the_secret(
    stack: LiveStack, page: Any, receiver: Receiver
) -> None:
    endpoint = stack.subscribe(receiver.url(f"/filters-{uuid.uuid4().hex[:6]}"))
    page.goto(stack.portal_link(endpoint["id"]))
    page.wait_for_url("**/portal/")
    page.uncheck("input[value='article.updated']")
    page.fill("input[name='tags']", "films, books")
    page.click("#save-filters")
    assert "filters are saved" in page.locator("#notice").inner_text()
    shown = stack.api.get(f"/v1/subscriptions/{endpoint['id']}", headers=stack.auth()).json()
    assert shown["events"] == ["article.published", "article.deleted"]
    assert shown["tags"] == ["films", "books"]
    page.fill("#grace", "1h")
    page.click("#rotate")
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_") and secret != endpoint["secret"]


def test_an_expired_or_foreign_link_is_refused(
    stack: LiveStack, page: Any, receiver: Receiver
) -> None:
    mine = stack.subscribe(receiver.url(f"/mine-{uuid.uuid4().hex[:6]}"))
    theirs = stack.subscribe(receiver.url(f"/theirs-{uuid.uuid4().hex[:6]}"))
    foreign_message = stack.api.post(f"/v1/subscriptions/{theirs['id']}/test",
                                     headers=stack.auth()).json()["message_id"]  # fmt: skip

    short = stack.portal_link(mine["id"], ttl="1s")
    time.sleep(1.5)
    answer = page.goto(short)
    assert answer.status == 403 and "expired" in page.locator("#error-detail").inner_text()

    page.goto(stack.portal_link(mine["id"]))
    page.wait_for_url("**/portal/")
    foreign = page.goto(f"{stack.base}/portal/messages/{foreign_message}")
    assert foreign.status == 404
    link = urlsplit(stack.portal_link(theirs["id"]))
    tampered = f"{stack.base}{link.path}?{link.query.replace('v1.', 'v1.x', 1)}"
    assert page.goto(tampered).status == 403
    page.goto(f"{stack.base}/portal/")
    assert page.locator("#endpoint-url").inner_text() == mine["url"]


def test_the_operator_signs_in_and_sees_a_queue_grow_while_a_worker_is_stopped(
    stack: LiveStack, page: Any
) -> None:
    page.goto(f"{stack.base}/dashboard")
    page.wait_for_url("**/dashboard/sign-in")
    page.fill("#token", "wrong")
    page.click("#sign-in-button")
    assert "not one of the API tokens" in page.locator("#error-detail").inner_text()
    page.goto(f"{stack.base}/dashboard/sign-in")
    page.fill("#token", stack.token)
    page.click("#sign-in-button")
    page.wait_for_url("**/dashboard")
    assert _depth(page, "ingest") == 0

    with stack.cpu_worker_paused():
        for number in range(3):
            stack.submit(f"Queued While Stopped {uuid.uuid4().hex[:6]} {number}")
        page.reload()
        # A fetch the worker had waiting in Redis when it stopped may take the first one.
        grown = _depth(page, "ingest")
        assert grown >= 2
        stack.submit(f"One More {uuid.uuid4().hex[:6]}")
        page.click("text=Refresh")
        assert _depth(page, "ingest") == grown + 1
    deadline = time.monotonic() + 60
    while _depth(page, "ingest") and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    assert _depth(page, "ingest") == 0  # the worker, resumed, drained it
    assert page.locator("figure.chart svg").count() == 2


def _depth(page: Any, queue: str) -> int:
    return int(page.locator(f"tr[data-queue='{queue}'] td.depth").inner_text())


def _status(stack: LiveStack, message_id: str) -> str:
    found = stack.api.get(f"/v1/messages/{message_id}", headers=stack.auth())
    return str(found.json().get("status"))
