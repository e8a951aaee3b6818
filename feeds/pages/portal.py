"""The partner portal: one webhook endpoint's own pages, reached by a signed link.

GET  /portal/enter?token=...         exchange a link's token for a session cookie
GET  /portal/                        the endpoint: URL, filters, state, chart, actions
GET  /portal/messages                its messages (?status=&type=&since=&until=&before=)
GET  /portal/messages/{id}           one message: payload and every attempt
POST /portal/messages/{id}/replay    send it again
POST /portal/recover                 send again every failed message since a time
POST /portal/test                    send a webhook.test message
POST /portal/disable, /portal/enable
POST /portal/filters                 change event types, authors, tags
POST /portal/rotate-secret           a new secret (shown once); the old one signs on
POST /portal/switch                  show another endpoint of a partner's link
POST /portal/sign-out

The endpoint is always one named by the session's token, never by the address: a
message of another endpoint is "not found". A partner's link names several endpoints;
one is shown at a time (chosen with /portal/switch among the link's own). Every form
carries the session's CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from feeds.pages import charts, queries, tokens
from feeds.pages.forms import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
    Form,
    FormError,
    filter_changes,
    grace_seconds,
    message_filter,
    time_field,
)
from feeds.pages.keys import signing_key
from feeds.pages.web import (
    PageError,
    clear_session,
    form_fields,
    over_https,
    page,
    redirect,
    require_csrf,
    set_session,
)
from feeds.webhooks.service import ConflictError, NotFoundError, Webhooks
from feeds.webhooks.spec import EVENT_TYPES
from feeds.webhooks.store import Endpoint, Message

COOKIE = "syndicate_portal"
#: Which of a partner link's endpoints is shown (checked against the link on every use).
CHOICE_COOKIE = "syndicate_portal_endpoint"
PATH = "/portal"
PAGE_SIZE = 50
RESPONSE_SHOWN = 1024
CHART_HOURS = 7 * 24
#: What the endpoint page says after an action (the code comes back in the address).
DONE = {
    "replayed": "The message is scheduled to be sent again.",
    "pending": "The message is already waiting to be sent.",
    "recovered": "Failed messages since that time are scheduled to be sent again.",
    "tested": "A webhook.test message is on its way.",
    "disabled": "The endpoint is disabled: new messages are held until it is enabled.",
    "enabled": "The endpoint is enabled: held messages are being sent.",
    "filters": "The filters are saved.",
}


class Session:
    """The endpoint a request may see, with the key and token that prove it; a partner's
    link may name several endpoints (``choices``), of which one is shown at a time."""

    def __init__(
        self, key: bytes, token: str, grant: tokens.Grant, endpoint: Endpoint,
        choices: list[Endpoint],
    ) -> None:  # fmt: skip
        self.key = key
        self.token = token
        self.partner = grant.name
        self.endpoint_ids = grant.subject.split(",")
        self.endpoint = endpoint
        self.choices = choices
        self.csrf = tokens.csrf_token(key, token)


#: What a form route calls first: the session, once the form's CSRF token checks out.
Acting = Callable[[Request], Awaitable[tuple[Session, Form]]]


def install_portal_routes(
    app: FastAPI, webhooks: Webhooks, wake_delivery: Callable[[], None]
) -> None:
    """Add the portal's pages."""
    settings = webhooks.settings

    def session(request: Request) -> Session:
        key = signing_key(settings)
        token = request.cookies.get(COOKIE, "")
        if not token:
            raise PageError(401, "Not signed in", "open the portal link you were given")
        grant = _verified(key, token, webhooks.clock())
        allowed = grant.subject.split(",")
        chosen = request.cookies.get(CHOICE_COOKIE, "")
        endpoint = webhooks.store.endpoint(chosen if chosen in allowed else allowed[0])
        if endpoint is None:
            raise PageError(404, "No such endpoint", "this endpoint has been deleted")
        choices = [] if len(allowed) == 1 else _existing(webhooks, allowed)
        return Session(key, token, grant, endpoint, choices)

    async def acting(request: Request) -> tuple[Session, Form]:
        """The session of a form post, once its CSRF token checks out."""
        current = await run_in_threadpool(session, request)
        form = await form_fields(request)
        require_csrf(current.key, current.token, form)
        return current, form

    @app.get(f"{PATH}/enter", include_in_schema=False)
    def enter(request: Request, token: str = "") -> Response:
        grant = _verified(signing_key(settings), token, webhooks.clock())
        response = page("enter.html", next_url=f"{PATH}/")
        set_session(response, COOKIE, token, path=PATH, expires=grant.expires,
                    secure=over_https(request, settings))  # fmt: skip
        return response

    @app.get(f"{PATH}/", include_in_schema=False)
    def endpoint_page(request: Request, done: str = "") -> HTMLResponse:
        current = session(request)
        now = webhooks.clock()
        counts = queries.attempt_counts(
            webhooks.articles.db, since=now - CHART_HOURS * 3600, width=3600,
            endpoint_id=current.endpoint.id,
        )  # fmt: skip
        buckets = charts.time_buckets(counts, now=now, width=3600, number=CHART_HOURS,
                                      form="%Y-%m-%d %H:00 UTC")  # fmt: skip
        return page(
            "portal/endpoint.html", s=current, e=current.endpoint, now=now,
            done=DONE.get(done), event_types=EVENT_TYPES, ordering=_ordering(current.endpoint),
            rate_limit=getattr(current.endpoint, "rate_limit", None),
            statuses=queries.status_counts(webhooks.articles.db, current.endpoint.id),
            chart=charts.stacked_bars("Deliveries per hour, last 7 days", buckets,
                                      ("delivered", "retried", "dead")),
            previous_expires=current.endpoint.public(now)["previous_secret_expires"],
        )  # fmt: skip

    @app.get(f"{PATH}/messages", include_in_schema=False)
    def messages_page(request: Request) -> HTMLResponse:
        current = session(request)
        query = dict(request.query_params)
        try:
            wanted = message_filter(query)
        except FormError as error:
            raise PageError(422, "Filters not understood", str(error)) from None
        found = queries.endpoint_messages(
            webhooks.articles.db, current.endpoint.id, wanted, limit=PAGE_SIZE
        )
        kept = {name: query[name] for name in ("status", "type", "since", "until") if
                query.get(name)}  # fmt: skip
        return page(
            "portal/messages.html", s=current, e=current.endpoint, found=found, query=kept,
            statuses=MESSAGE_STATUSES, types=MESSAGE_TYPES, first_page=wanted.before is None,
        )  # fmt: skip

    @app.get(f"{PATH}/messages/{{message_id}}", include_in_schema=False)
    def message_page(request: Request, message_id: str, done: str = "") -> HTMLResponse:
        current = session(request)
        message = _own_message(webhooks, current, message_id)
        return page(
            "portal/message.html", s=current, e=current.endpoint, m=message, done=DONE.get(done),
            payload=_pretty(message), attempts=_attempts(message), limit=RESPONSE_SHOWN,
        )  # fmt: skip

    _install_actions(app, webhooks, acting, wake_delivery)
    _install_session_routes(app, webhooks, acting)


def _install_actions(
    app: FastAPI, webhooks: Webhooks, acting: Acting, wake_delivery: Callable[[], None]
) -> None:
    """The forms that change something, each answered by a redirect to a page."""

    @app.post(f"{PATH}/messages/{{message_id}}/replay", include_in_schema=False)
    async def replay(request: Request, message_id: str) -> Response:
        current, form = await acting(request)
        await run_in_threadpool(_own_message, webhooks, current, message_id)
        force = form.get("force") == "1"
        sent = await run_in_threadpool(_service, lambda: webhooks.replay(message_id, force=force))
        if sent:
            wake_delivery()
        return redirect(f"{PATH}/messages/{message_id}?done={'replayed' if sent else 'pending'}")

    @app.post(f"{PATH}/recover", include_in_schema=False)
    async def recover(request: Request) -> Response:
        current, form = await acting(request)
        since = _checked(time_field, form.get("since"), "since")
        if since is None:
            raise PageError(422, "A time is needed", "choose the time to recover from")
        await run_in_threadpool(_service, webhooks.recover, current.endpoint.id, since)
        wake_delivery()
        return redirect(f"{PATH}/?done=recovered")

    @app.post(f"{PATH}/test", include_in_schema=False)
    async def send_test(request: Request) -> Response:
        current, _ = await acting(request)
        await run_in_threadpool(_service, webhooks.send_test, current.endpoint.id)
        wake_delivery()
        return redirect(f"{PATH}/?done=tested")

    @app.post(f"{PATH}/disable", include_in_schema=False)
    async def disable(request: Request) -> Response:
        current, _ = await acting(request)
        await run_in_threadpool(_service, webhooks.set_enabled, current.endpoint.id, False)
        return redirect(f"{PATH}/?done=disabled")

    @app.post(f"{PATH}/enable", include_in_schema=False)
    async def enable(request: Request) -> Response:
        current, _ = await acting(request)
        await run_in_threadpool(_service, webhooks.set_enabled, current.endpoint.id, True)
        wake_delivery()
        return redirect(f"{PATH}/?done=enabled")

    @app.post(f"{PATH}/filters", include_in_schema=False)
    async def filters(request: Request) -> Response:
        current, form = await acting(request)
        changes = _checked(filter_changes, form)
        await run_in_threadpool(_service, webhooks.update, current.endpoint.id, changes)
        return redirect(f"{PATH}/?done=filters")


def _install_session_routes(app: FastAPI, webhooks: Webhooks, acting: Acting) -> None:
    """Rotating the secret (its page shows the new one), switching endpoint, signing out."""
    settings = webhooks.settings

    @app.post(f"{PATH}/rotate-secret", include_in_schema=False)
    async def rotate_secret(request: Request) -> HTMLResponse:
        current, form = await acting(request)
        grace = _checked(grace_seconds, form.get("grace"))
        secret, until = await run_in_threadpool(webhooks.rotate_secret, current.endpoint.id, grace)
        return page("portal/secret.html", s=current, e=current.endpoint, secret=secret,
                    until=until)  # fmt: skip

    @app.post(f"{PATH}/switch", include_in_schema=False)
    async def switch(request: Request) -> Response:
        """Show another of the endpoints the link names (and only those)."""
        current, form = await acting(request)
        chosen = form.get("endpoint")
        if chosen not in current.endpoint_ids:
            raise PageError(404, "No such endpoint", "this link does not name that endpoint")
        response = redirect(f"{PATH}/")
        grant = _verified(current.key, current.token, webhooks.clock())
        set_session(response, CHOICE_COOKIE, chosen, path=PATH, expires=grant.expires,
                    secure=over_https(request, settings))  # fmt: skip
        return response

    @app.post(f"{PATH}/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        await acting(request)
        response = page("signed_out.html")
        secure = over_https(request, settings)
        clear_session(response, COOKIE, path=PATH, secure=secure)
        clear_session(response, CHOICE_COOKIE, path=PATH, secure=secure)
        return response


def _verified(key: bytes, token: str, now: float) -> tokens.Grant:
    try:
        return tokens.verify(key, token, scope="portal", now=now)
    except tokens.TokenError as error:
        raise PageError(403, "This link cannot be used", f"{error}; ask for a new link") from None


def _existing(webhooks: Webhooks, endpoint_ids: list[str]) -> list[Endpoint]:
    found = (webhooks.store.endpoint(endpoint_id) for endpoint_id in endpoint_ids)
    return [endpoint for endpoint in found if endpoint is not None]


def _own_message(webhooks: Webhooks, current: Session, message_id: str) -> Message:
    """The message if it is the session's endpoint's; another's is reported as missing."""
    found = webhooks.store.message(message_id, with_attempts=True)
    if found is None or found.endpoint != current.endpoint.id:
        raise PageError(404, "No such message", "this endpoint has no message with that id")
    return found


def _service(function: Callable[..., Any], *args: object) -> Any:
    try:
        return function(*args)
    except NotFoundError as error:
        raise PageError(404, "Not found", str(error)) from None
    except ConflictError as error:
        raise PageError(409, "Not possible now", str(error)) from None


def _checked(function: Callable[..., Any], *args: object) -> Any:
    try:
        return function(*args)
    except FormError as error:
        raise PageError(422, "The form needs a correction", str(error)) from None


def _ordering(endpoint: Endpoint) -> str:
    if endpoint.max_in_flight == 1:
        return "in order: one message at a time"
    return f"up to {endpoint.max_in_flight} at once, so not strictly in order"


def _pretty(message: Message) -> str:
    try:
        return json.dumps(json.loads(message.body), indent=2, ensure_ascii=False)
    except ValueError:
        return message.body.decode("utf-8", "replace")


def _attempts(message: Message) -> list[dict[str, Any]]:
    """The attempt log with each response cut to its first KiB."""
    shown = []
    for attempt in message.attempt_log:
        response = (attempt.get("response") or "").encode()
        first = response[:RESPONSE_SHOWN].decode("utf-8", "ignore")
        shown.append(attempt | {"response": first, "cut": len(response) > RESPONSE_SHOWN})
    return shown
