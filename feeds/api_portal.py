"""POST /v1/subscriptions/{id}/portal-link: a signed link to the endpoint's portal pages.

Body (optional): ``{"ttl": "24h"}`` (a duration, or seconds; at most 90 days). Answer:
``{"id", "url", "expires_at"}``. The link is a credential for that endpoint only: send
it to the partner who runs the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from feeds.api_base import ApiError, read_body
from feeds.pages.links import DEFAULT_TTL, portal_link
from feeds.webhooks.service import NotFoundError, Webhooks
from worker.core.durations import parse_duration


def install_portal_link_route(
    app: FastAPI, webhooks: Webhooks, require_token: Callable[[Request], None]
) -> None:
    @app.post("/v1/subscriptions/{endpoint_id}/portal-link", dependencies=[Depends(require_token)])
    async def make_portal_link(endpoint_id: str, request: Request) -> dict[str, Any]:
        """A signed, expiring link to this endpoint's partner portal."""
        ttl = _ttl(await _ttl_field(request))
        try:
            await run_in_threadpool(webhooks.endpoint, endpoint_id)
        except NotFoundError as error:
            raise ApiError(404, "not_found", str(error)) from None
        try:
            url, expires = portal_link(
                webhooks.settings, endpoint_id, ttl=ttl, now=webhooks.clock()
            )
        except ValueError as error:
            raise ApiError(422, "invalid_request", f"ttl: {error}") from None
        at = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
        return {"id": endpoint_id, "url": url, "expires_at": at}


async def _ttl_field(request: Request) -> object:
    raw = await read_body(request, 4096)
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return data.get("ttl")


def _ttl(value: object) -> float:
    if value is None:
        return DEFAULT_TTL
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise ApiError(422, "invalid_request", "ttl must be a duration such as 24h, or seconds")
