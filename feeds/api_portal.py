"""Signed links to the partner portal (both need the API token).

POST /v1/subscriptions/{id}/portal-link   body (optional): {"ttl": "24h"}
POST /v1/portal-links                     body: {"endpoints": [ids], "partner": name, "ttl"}

``ttl`` is a duration or seconds (default 24 h, at most 90 days). Answer: ``{"url",
"expires_at", ...}``. A link is a credential for the endpoints it names only: send it to
the partner who runs them.
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

_MAX_ENDPOINTS = 100


def install_portal_link_route(
    app: FastAPI, webhooks: Webhooks, require_token: Callable[[Request], None]
) -> None:
    guarded = [Depends(require_token)]

    @app.post("/v1/subscriptions/{endpoint_id}/portal-link", dependencies=guarded)
    async def make_portal_link(endpoint_id: str, request: Request) -> dict[str, Any]:
        """A signed, expiring link to this endpoint's partner portal."""
        data = await _body(request, optional=True)
        made = await run_in_threadpool(_link, webhooks, [endpoint_id], data.get("ttl"), "")
        return {"id": endpoint_id} | made

    @app.post("/v1/portal-links", dependencies=guarded)
    async def make_partner_link(request: Request) -> dict[str, Any]:
        """A signed, expiring link for a named partner to the portal of its endpoints."""
        data = await _body(request, optional=False)
        endpoints, partner = data.get("endpoints"), data.get("partner")
        if (
            not isinstance(endpoints, list) or not 1 <= len(endpoints) <= _MAX_ENDPOINTS
            or not all(isinstance(item, str) and item for item in endpoints)
        ):  # fmt: skip
            raise ApiError(422, "invalid_request", "endpoints must be a list of 1 to 100 ids")
        if not isinstance(partner, str) or not partner.strip():
            raise ApiError(422, "invalid_request", "partner must be a non-empty name")
        made = await run_in_threadpool(_link, webhooks, endpoints, data.get("ttl"), partner)
        return {"endpoints": endpoints, "partner": partner.strip()} | made


def _link(webhooks: Webhooks, endpoint_ids: list[str], ttl: object, name: str) -> dict[str, str]:
    seconds = _ttl(ttl)
    for endpoint_id in endpoint_ids:
        try:
            webhooks.endpoint(endpoint_id)
        except NotFoundError as error:
            raise ApiError(404, "not_found", str(error)) from None
    try:
        url, expires = portal_link(
            webhooks.settings, endpoint_ids, ttl=seconds, now=webhooks.clock(), name=name
        )
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return {"url": url, "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}


async def _body(request: Request, *, optional: bool) -> dict[str, Any]:
    raw = await read_body(request, 16 * 1024)
    if optional and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return data


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
