"""Screenshots of every page at 1280x800 into docs/screenshots/: ``make screenshots``.

Starts a ``syndicate up`` of its own (embedded PostgreSQL and Redis in a temporary
directory), a webhook receiver that fails some deliveries, submits articles and one
refused input, then photographs the portal and the dashboard in Debian's Chromium.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tests.integration.conftest import free_port, wait_until
from tests.integration.live_stack import ROOT, LiveStack, browser_missing, chromium
from tests.integration.receiver import running_receiver

OUT = ROOT / "docs" / "screenshots"
ARTICLES = [
    ("The Quiet Harbour (2024) Ending Explained", "Ann Lee", "films"),
    ("Glass Orchard Season Two Finale Explained", "Bo Chen", "series"),
    ("Why The Last Lighthouse Ends In Silence", "Ann Lee", "films"),
    ("Paper Moons: The Book's Final Chapter", "Dee Ray", "books"),
]


def main() -> int:
    missing = browser_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    stack = LiveStack(None, free_port())
    try:
        with running_receiver() as receiver:
            partner = stack.subscribe(
                receiver.url("/hooks/syndicate", "always:500"), tags=["films", "series", "books"],
                description="Partner site: new and updated reviews",
            )  # fmt: skip
            stack.subscribe(receiver.url("/down", "always:503"), description="A partner offline")
            # A test event fails twice (schedule 0, 1s) and is dead; then each message
            # fails once and is delivered at its retry.
            stack.api.post(f"/v1/subscriptions/{partner['id']}/test", headers=stack.auth())
            wait_until(lambda: _dead(stack, partner["id"]), timeout=60, interval=0.3)
            receiver.behave("/hooks/syndicate", "once-each")
            _fill(stack, partner["id"])
            # 4 articles and a test event, each failing once: 10 more requests.
            wait_until(lambda: receiver.begun("/hooks/syndicate") >= 12, timeout=90)
            time.sleep(2)  # the last answers are recorded
            _photograph(stack, partner["id"])
    finally:
        stack.stop()
    print(f"screenshots in {OUT}")
    return 0


def _dead(stack: LiveStack, endpoint_id: str) -> bool:
    found = stack.api.get(f"/v1/subscriptions/{endpoint_id}/messages",
                          params={"status": "dead"}, headers=stack.auth())  # fmt: skip
    return bool(found.json()["messages"])


def _fill(stack: LiveStack, endpoint_id: str) -> None:
    for path in sorted((ROOT / "examples").iterdir()):
        kind = "text/markdown" if path.suffix == ".md" else "text/plain"
        stack.api.post("/v1/articles", content=path.read_bytes(),
                       headers={**stack.auth(), "Content-Type": kind})  # fmt: skip
    for title, author, tag in ARTICLES:
        body = f"{title}\nWhat the ending means.\nAuthor: {author}\nTags: {tag}\n"
        body += "The ending\nIt closes where it began. Nothing is left unsaid.\n"
        stack.api.post("/v1/articles", content=body.encode(),
                       headers={**stack.auth(), "Content-Type": "text/plain"})  # fmt: skip
    stack.api.post(
        "/v1/articles", content=b"   \n", headers={**stack.auth(), "Content-Type": "text/plain"}
    )  # fmt: skip  (refused: a failure to show)
    stack.api.post(f"/v1/subscriptions/{endpoint_id}/test", headers=stack.auth())


def _photograph(stack: LiveStack, endpoint_id: str) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page: Any = context.new_page()
        page.goto(stack.portal_link(endpoint_id, ttl="1h"))
        page.wait_for_url("**/portal/")
        page.screenshot(path=OUT / "portal-endpoint.png")
        page.goto(f"{stack.base}/portal/messages")
        page.screenshot(path=OUT / "portal-messages.png")
        page.goto(f"{stack.base}/portal/messages?status=dead")
        page.locator("table#messages a").first.click()
        page.screenshot(path=OUT / "portal-message.png")
        page.goto(f"{stack.base}/dashboard/sign-in")
        page.screenshot(path=OUT / "dashboard-sign-in.png")
        page.fill("#token", stack.token)
        page.click("#sign-in-button")
        page.wait_for_url("**/dashboard")
        page.screenshot(path=OUT / "dashboard.png")
        context.close()


if __name__ == "__main__":
    sys.exit(main())
