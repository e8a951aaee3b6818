"""Hostile articles against the real service: clear 4xx answers, never a 5xx, and the
service and its feeds stay healthy afterwards."""

from __future__ import annotations

import json
import uuid

import feedparser
import httpx
import pytest

from tests.hostile.corpus import Hostile, by_name

# The session-scoped fixtures of the integration suite (real Redis, worker, server).
from tests.integration.conftest import (  # noqa: F401
    api,
    auth,
    redis_service,
    wait_until,
    worker,
)

#: One or two of every kind (items with a known bug in the core are left out: they
#: would poison the shared feeds of the other integration tests).
SUBSET = (
    "empty", "bom-only", "truncated-utf8-mid-sequence", "cesu-lone-surrogate",
    "random-binary", "png-magic", "utf16le-no-bom", "crlf-line-endings", "ten-mib",
    "one-mib-single-line", "hundred-thousand-sections-md", "html-nested-10000-divs",
    "html-script", "html-svg-onload", "html-comment-tricks", "xml-invalid-controls-sparse",
    "bidi-override-title", "zero-width-spaces", "md-yaml-billion-laughs",
    "md-yaml-python-object", "json-deep-nesting-in-field", "json-huge-number",
    "json-duplicate-keys", "json-sent-as-html", "html-sent-as-json", "weird-content-type",
    "utf7-content-type",
)  # fmt: skip
CLIENT_ERRORS = (413, 415, 422)
_MEDIA_TYPES = {
    "text": "text/plain",
    "markdown": "text/markdown",
    "html": "text/html",
    "json": "application/json",
}


def request_of(item: Hostile) -> tuple[bytes, dict[str, str]]:
    """The body and headers that submit ``item`` as a client would."""
    headers = auth()
    if item.format is not None:
        headers["Content-Type"] = _MEDIA_TYPES[item.format]
    elif item.content_type is not None:
        headers["Content-Type"] = item.content_type
    else:
        headers["Content-Type"] = "application/octet-stream"
    return item.data, headers


@pytest.fixture(scope="module")
def answers(api: httpx.Client, worker: object) -> dict[str, httpx.Response]:  # noqa: F811
    return {
        name: api.post("/v1/articles", content=request_of(by_name(name))[0],
                       headers=request_of(by_name(name))[1], timeout=60)
        for name in SUBSET
    }  # fmt: skip


@pytest.mark.parametrize("name", SUBSET)
def test_every_answer_is_202_or_a_clear_client_error(
    answers: dict[str, httpx.Response], name: str
) -> None:
    response = answers[name]
    assert response.status_code < 500, response.text
    assert response.status_code in (202, *CLIENT_ERRORS), response.text
    body = response.json()
    if response.status_code == 202:
        assert body["submission"] and body["id"]
        return
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    message = error["message"]
    assert isinstance(message, str) and message.strip()
    assert "\n" not in message and "Traceback" not in message


def test_the_service_stays_up_and_the_feeds_stay_valid(
    api: httpx.Client,  # noqa: F811
    answers: dict[str, httpx.Response],
) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    submissions = [r.json()["submission"] for r in answers.values() if r.status_code == 202]
    assert submissions, "some hostile articles must be accepted"
    states: dict[str, str] = {}

    def settled() -> bool:
        for submission in submissions:
            if states.get(submission) not in ("done", "failed"):
                states[submission] = api.get(f"/v1/submissions/{submission}").json()["status"]
        return all(states[s] in ("done", "failed") for s in submissions)

    wait_until(settled, timeout=60, interval=0.2)
    # A fresh article after the hostile ones is still processed and published.
    title = f"After The Storm {uuid.uuid4().hex[:8]}"
    fresh = api.post(
        "/v1/articles",
        content=f"{title}\nA calm description.\nPart\nAll is well.\n".encode(),
        headers={**auth(), "Content-Type": "text/plain"},
    )
    assert fresh.status_code == 202, fresh.text
    fresh_id = fresh.json()["submission"]
    wait_until(
        lambda: api.get(f"/v1/submissions/{fresh_id}").json()["status"] == "done", timeout=60
    )

    def published() -> bool:
        return title.encode() in api.get("/feeds/atom.xml").content

    wait_until(published, timeout=30, interval=0.2)
    for path in ("/feeds/atom.xml", "/feeds/rss.xml"):
        response = api.get(path)
        assert response.status_code == 200, path
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path
    feed = api.get("/feeds/feed.json")
    assert feed.status_code == 200
    assert json.loads(feed.content)["items"]
    assert api.get("/healthz").json() == {"status": "ok"}
