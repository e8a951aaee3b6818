"""HTTP routes for webhook subscriptions and their messages (all need the API token).

POST   /v1/subscriptions                      create -> 201 {..., "secret"} (shown once)
GET    /v1/subscriptions                      list
GET    /v1/subscriptions/{id}                 show
PATCH  /v1/subscriptions/{id}                 update url, events, authors, tags, ...
DELETE /v1/subscriptions/{id}                 delete (with its messages)
POST   /v1/subscriptions/{id}/enable          enable; held messages are sent
POST   /v1/subscriptions/{id}/disable         disable; new messages are held
POST   /v1/subscriptions/{id}/rotate-secret   new secret; the old one signs 24 h more
POST   /v1/subscriptions/{id}/test            send a webhook.test message
GET    /v1/subscriptions/{id}/messages        the endpoint's messages (?status=&since=)
POST   /v1/subscriptions/{id}/replay-dead     send every dead letter again
POST   /v1/subscriptions/{id}/recover         send failed messages since a time again
GET    /v1/messages                           messages of every endpoint (?status=dead)
GET    /v1/messages/{id}                      one message, its payload and attempts
POST   /v1/messages/{id}/replay               send a failed message again (same webhook-id;
                                                  ?force=true for a delivered one)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from feeds.addresses import AddressRefusedError
from feeds.api_base import ApiError, read_body
from feeds.api_schemas import NEW_SUBSCRIPTION_BODY, RECOVER_BODY, SUBSCRIPTION_CHANGES_BODY
from feeds.webhooks.service import ConflictError, NotFoundError, Webhooks
from feeds.webhooks.spec import SubscriptionError, parse_subscription
from feeds.webhooks.store import Endpoint, Message

_BODY_LIMIT = 64 * 1024
_STATUSES = ("scheduled", "queued", "delivered", "dead", "held")


def install_webhook_routes(
    app: FastAPI,
    webhooks: Webhooks,
    require_token: Callable[[Request], None],
    wake_delivery: Callable[[], None],
) -> None:
    """Add the routes; ``wake_delivery`` asks a worker to send what is due now."""
    guarded = [Depends(require_token)]

    @app.post("/v1/subscriptions", status_code=201, dependencies=guarded,
              openapi_extra=NEW_SUBSCRIPTION_BODY)  # fmt: skip
    async def create_subscription(request: Request) -> JSONResponse:
        """Subscribe an endpoint; the answer holds its signing secret, shown only here."""
        changes = _checked(await _json_body(request), creating=True)
        endpoint, secret = await run_in_threadpool(_call, webhooks.subscribe, changes)
        body = endpoint.public(webhooks.clock()) | {"secret": secret}
        location = f"/v1/subscriptions/{endpoint.id}"
        return JSONResponse(body, status_code=201, headers={"Location": location})

    @app.get("/v1/subscriptions", dependencies=guarded)
    def list_subscriptions() -> dict[str, Any]:
        now = webhooks.clock()
        return {"subscriptions": [e.public(now) for e in webhooks.store.endpoints()]}

    @app.get("/v1/subscriptions/{endpoint_id}", dependencies=guarded)
    def show_subscription(endpoint_id: str) -> dict[str, Any]:
        endpoint: Endpoint = _call(webhooks.endpoint, endpoint_id)
        return endpoint.public(webhooks.clock())

    @app.patch("/v1/subscriptions/{endpoint_id}", dependencies=guarded,
               openapi_extra=SUBSCRIPTION_CHANGES_BODY)  # fmt: skip
    async def update_subscription(endpoint_id: str, request: Request) -> dict[str, Any]:
        changes = _checked(await _json_body(request), creating=False)
        endpoint: Endpoint = await run_in_threadpool(_call, webhooks.update, endpoint_id, changes)
        return endpoint.public(webhooks.clock())

    @app.delete("/v1/subscriptions/{endpoint_id}", status_code=204, dependencies=guarded)
    def delete_subscription(endpoint_id: str) -> Response:
        _call(webhooks.delete, endpoint_id)
        return Response(status_code=204)

    @app.post("/v1/subscriptions/{endpoint_id}/enable", dependencies=guarded)
    def enable_subscription(endpoint_id: str) -> dict[str, Any]:
        rescheduled = _call(webhooks.set_enabled, endpoint_id, True)
        wake_delivery()
        return {"id": endpoint_id, "enabled": True, "rescheduled": rescheduled}

    @app.post("/v1/subscriptions/{endpoint_id}/disable", dependencies=guarded)
    def disable_subscription(endpoint_id: str) -> dict[str, Any]:
        _call(webhooks.set_enabled, endpoint_id, False)
        return {"id": endpoint_id, "enabled": False}

    @app.post("/v1/subscriptions/{endpoint_id}/rotate-secret", dependencies=guarded)
    async def rotate_secret(endpoint_id: str, request: Request) -> dict[str, Any]:
        """A new secret; the previous one keeps signing for ``grace_seconds`` (default 24 h)."""
        data = await _json_body(request, optional=True)
        grace = data.get("grace_seconds")
        if grace is not None and (not isinstance(grace, int | float) or grace < 0):
            raise ApiError(422, "invalid_request", "grace_seconds must be a number ≥ 0")
        secret, until = await run_in_threadpool(_call, webhooks.rotate_secret, endpoint_id, grace)
        return {"id": endpoint_id, "secret": secret, "previous_secret_expires": until}

    @app.post("/v1/subscriptions/{endpoint_id}/test", status_code=202, dependencies=guarded)
    def send_test(endpoint_id: str) -> dict[str, Any]:
        message_id = _call(webhooks.send_test, endpoint_id)
        wake_delivery()
        return {"message_id": message_id, "status_url": f"/v1/messages/{message_id}"}

    _install_message_routes(app, webhooks, guarded, wake_delivery)


def _install_message_routes(
    app: FastAPI, webhooks: Webhooks, guarded: list[Any], wake_delivery: Callable[[], None]
) -> None:
    @app.get("/v1/subscriptions/{endpoint_id}/messages", dependencies=guarded)
    def endpoint_messages(
        endpoint_id: str, status: str | None = None, since: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        _call(webhooks.endpoint, endpoint_id)
        return _messages(webhooks, endpoint_id, status, since, limit)

    @app.post("/v1/subscriptions/{endpoint_id}/replay-dead", status_code=202, dependencies=guarded)
    def replay_dead(endpoint_id: str) -> dict[str, Any]:
        rescheduled = _call(webhooks.replay_dead, endpoint_id)
        wake_delivery()
        return {"id": endpoint_id, "rescheduled": rescheduled}

    @app.post("/v1/subscriptions/{endpoint_id}/recover", status_code=202, dependencies=guarded,
              openapi_extra=RECOVER_BODY)  # fmt: skip
    async def recover(endpoint_id: str, request: Request) -> dict[str, Any]:
        """Send again every dead or held message created since ``since`` (RFC 3339)."""
        data = await _json_body(request)
        since = _timestamp(data.get("since"), "since")
        if since is None:
            raise ApiError(422, "invalid_request", "since is required (an RFC 3339 time)")
        rescheduled = await run_in_threadpool(_call, webhooks.recover, endpoint_id, since)
        wake_delivery()
        return {"id": endpoint_id, "rescheduled": rescheduled}

    @app.get("/v1/messages", dependencies=guarded)
    def all_messages(
        status: str | None = None, since: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        return _messages(webhooks, None, status, since, limit)

    @app.get("/v1/messages/{message_id}", dependencies=guarded)
    def show_message(message_id: str) -> dict[str, Any]:
        message: Message = _call(webhooks.message, message_id)
        return message.public(with_body=True)

    @app.post("/v1/messages/{message_id}/replay", status_code=202, dependencies=guarded)
    def replay_message(message_id: str, force: bool = False) -> dict[str, Any]:
        """Send a failed message again; a delivered one needs ``?force=true`` (409 otherwise)."""
        rescheduled = _call(lambda: webhooks.replay(message_id, force=force))
        if rescheduled:
            wake_delivery()
        return {"message_id": message_id, "rescheduled": rescheduled}


def _call(function: Callable[..., Any], *args: object) -> Any:
    """Run a service call, turning its typed errors into HTTP answers."""
    try:
        return function(*args)
    except NotFoundError as error:
        raise ApiError(404, "not_found", str(error)) from None
    except ConflictError as error:
        raise ApiError(409, "conflict", str(error)) from None
    except AddressRefusedError as error:
        raise ApiError(422, "address_refused", f"url: {error}", field="url") from None


def _checked(data: dict[str, Any], *, creating: bool) -> Any:
    try:
        return parse_subscription(data, creating=creating)
    except SubscriptionError as error:
        raise ApiError(422, "invalid_request", str(error), field=error.field) from None


async def _json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await read_body(request, _BODY_LIMIT)
    if optional and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid_request", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return data


def _timestamp(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.timestamp()
    raise ApiError(422, "invalid_request", f"{name} must be an RFC 3339 time with a zone")


def _messages(
    webhooks: Webhooks, endpoint_id: str | None, status: str | None, since: str | None, limit: int
) -> dict[str, Any]:
    if status is not None and status not in _STATUSES:
        raise ApiError(422, "invalid_request", f"status must be one of {', '.join(_STATUSES)}")
    if not 1 <= limit <= 1000:
        raise ApiError(422, "invalid_request", "limit must be from 1 to 1000")
    found = webhooks.store.messages(
        endpoint_id=endpoint_id, status=status, since=_timestamp(since, "since"), limit=limit
    )
    return {"messages": [message.public() for message in found]}
