"""Every write endpoint in the OpenAPI document refuses a missing (401) and a wrong (403)
token, and so does every read of private data; nothing changes on a refused request."""

from __future__ import annotations

import re

import httpx

#: Public by design: the WebSub hub (W3C WebSub: subscribers have no token).
PUBLIC_WRITES = {("POST", "/websub")}
PRIVATE_READS = ("/v1/subscriptions", "/v1/messages", "/v1/failures")


def operations(api: httpx.Client) -> list[tuple[str, str]]:
    document = api.get("/openapi.json").json()
    found = []
    for path, methods in document["paths"].items():
        for method in methods:
            verb = method.upper()
            concrete = re.sub(r"\{[^}]+\}", "x1", path)
            is_write = verb in ("POST", "PUT", "PATCH", "DELETE")
            if (is_write and (verb, path) not in PUBLIC_WRITES) or (
                verb == "GET" and path.startswith(PRIVATE_READS)
            ):
                found.append((verb, concrete))
    return found


def test_every_write_and_private_read_needs_a_valid_token(api: httpx.Client) -> None:
    found = operations(api)
    assert len(found) >= 20  # articles, subscriptions, messages, failures
    for verb, path in found:
        missing = api.request(verb, path, json={})
        assert missing.status_code == 401, (verb, path, missing.status_code)
        assert missing.json()["error"]["code"] == "unauthorized"
        wrong = api.request(verb, path, json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403, (verb, path, wrong.status_code)
        assert wrong.json()["error"]["code"] == "forbidden"
