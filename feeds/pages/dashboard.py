"""The operator dashboard: the facts of ``syndicate status`` (read by the same
:func:`worker.status.gather`), throughput charts, failures and dead letters to act on.

GET  /dashboard/sign-in                   the sign-in form (an API token)
POST /dashboard/sign-in                   exchange a token for a session cookie
GET  /dashboard                           everything on one page
POST /dashboard/failures/{id}/retry       retry a failed article, input or task
POST /dashboard/failures/{id}/discard     forget it
POST /dashboard/messages/{id}/replay      send a dead letter again
POST /dashboard/sign-out

The session cookie holds a signed operator token naming a fingerprint of the API token
it was opened with: a token taken out of ``SYNDICATE_API_TOKENS`` closes its sessions.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from feeds.pages import charts, queries, tokens
from feeds.pages.forms import Form
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
from worker.core.errors import InputError
from worker.failures import FailureConflictError, FailureNotFoundError, Failures
from worker.status import gather
from worker.submit import Submitter

COOKIE = "syndicate_operator"
SIGN_IN_COOKIE = "syndicate_sign_in"
PATH = "/dashboard"
SESSION_SECONDS = 12 * 3600.0
LISTED = 20
DONE = {
    "retried": "The failure is queued to be tried again.",
    "discarded": "The failure is forgotten.",
    "replayed": "The dead letter is scheduled to be sent again.",
    "pending": "That message is already waiting to be sent.",
}


def install_dashboard_routes(
    app: FastAPI,
    submitter: Submitter,
    webhooks: Webhooks,
    failures: Failures,
    wake_delivery: Callable[[], None],
) -> None:
    """Add the dashboard's pages."""
    settings = webhooks.settings
    fingerprints = {tokens.fingerprint(token) for token in settings.api_tokens}

    def operator(request: Request) -> tuple[bytes, str]:
        """The key and the session token of a signed-in operator; else a page saying so."""
        key = signing_key(settings)
        token = request.cookies.get(COOKIE, "")
        try:
            grant = tokens.verify(key, token, scope="operator", now=webhooks.clock())
        except tokens.TokenError:
            raise PageError(401, "Sign in", "sign in with an API token first") from None
        if grant.subject not in fingerprints:
            raise PageError(401, "Sign in", "the token of this session is no longer accepted")
        return key, token

    async def acting(request: Request) -> Form:
        key, token = await run_in_threadpool(operator, request)
        form = await form_fields(request)
        require_csrf(key, token, form)
        return form

    _install_sign_in(app, webhooks, fingerprints)

    @app.get(PATH, include_in_schema=False)
    def dashboard(request: Request, done: str = "") -> Response:
        try:
            key, token = operator(request)
        except PageError:
            return redirect(f"{PATH}/sign-in")
        return page("dashboard/index.html", csrf=tokens.csrf_token(key, token),
                    done=DONE.get(done), **_facts(submitter, webhooks, failures))  # fmt: skip

    @app.post(f"{PATH}/failures/{{failure_id}}/retry", include_in_schema=False)
    async def retry_failure(request: Request, failure_id: str) -> Response:
        await acting(request)
        await run_in_threadpool(_failure_call, failures.retry, failure_id)
        return redirect(f"{PATH}?done=retried")

    @app.post(f"{PATH}/failures/{{failure_id}}/discard", include_in_schema=False)
    async def discard_failure(request: Request, failure_id: str) -> Response:
        await acting(request)
        await run_in_threadpool(_failure_call, failures.discard, failure_id)
        return redirect(f"{PATH}?done=discarded")

    @app.post(f"{PATH}/messages/{{message_id}}/replay", include_in_schema=False)
    async def replay(request: Request, message_id: str) -> Response:
        await acting(request)
        sent = await run_in_threadpool(_replay, webhooks, message_id)
        if sent:
            wake_delivery()
        return redirect(f"{PATH}?done={'replayed' if sent else 'pending'}")

    @app.post(f"{PATH}/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        await acting(request)
        response = redirect(f"{PATH}/sign-in")
        clear_session(response, COOKIE, path=PATH, secure=over_https(request, settings))
        return response


def _install_sign_in(app: FastAPI, webhooks: Webhooks, fingerprints: set[str]) -> None:
    settings = webhooks.settings

    @app.get(f"{PATH}/sign-in", include_in_schema=False)
    def sign_in_form(request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(24)
        csrf = tokens.csrf_token(signing_key(settings), nonce)
        response = page("dashboard/sign_in.html", csrf=csrf, enabled=bool(fingerprints))
        set_session(response, SIGN_IN_COOKIE, nonce, path=PATH, expires=webhooks.clock() + 900,
                    secure=over_https(request, settings))  # fmt: skip
        return response

    @app.post(f"{PATH}/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = await form_fields(request)
        key = signing_key(settings)
        require_csrf(key, request.cookies.get(SIGN_IN_COOKIE, ""), form)
        presented = form.get("token").strip().encode()
        matched = False
        for token in settings.api_tokens:  # every one, so the time taken tells nothing
            matched |= hmac.compare_digest(presented, token.encode())
        if not matched:
            raise PageError(403, "Not signed in", "that is not one of the API tokens")
        expires = webhooks.clock() + SESSION_SECONDS
        grant = tokens.Grant("operator", tokens.fingerprint(presented.decode()), expires)
        response = redirect(PATH)
        secure = over_https(request, settings)
        set_session(response, COOKIE, tokens.sign(key, grant), path=PATH, expires=expires,
                    secure=secure)  # fmt: skip
        clear_session(response, SIGN_IN_COOKIE, path=PATH, secure=secure)
        return response


def _facts(submitter: Submitter, webhooks: Webhooks, failures: Failures) -> dict[str, Any]:
    """What the page shows: ``syndicate status`` and the lists and charts around it."""
    store = submitter.store
    now = webhooks.clock()
    status = gather(store.client, store, now=now, broker=webhooks.settings.broker_url)
    hour = now - 3600
    ingest = queries.event_counts(store.db, since=hour, width=60)
    delivery = queries.attempt_counts(store.db, since=hour, width=60)
    return {
        "status": status,
        "now": now,
        "ingest_chart": charts.stacked_bars(
            "Ingest: articles stored per minute, last hour",
            charts.time_buckets(ingest, now=now, width=60, number=60, form="%H:%M UTC"),
            ("article.published", "article.updated", "article.deleted"),
        ),
        "delivery_chart": charts.stacked_bars(
            "Delivery: attempts per minute, last hour",
            charts.time_buckets(delivery, now=now, width=60, number=60, form="%H:%M UTC"),
            ("delivered", "retried", "dead"),
        ),
        "failures": failures.list_failures("all", limit=LISTED),
        "dead_letters": webhooks.store.messages(status="dead", limit=LISTED),
        "endpoints": webhooks.store.endpoints()[:100],
        "feeds": queries.feed_states(store.db, limit=50),
    }


def _failure_call(function: Callable[[str], Any], failure_id: str) -> None:
    try:
        function(failure_id)
    except FailureNotFoundError as error:
        raise PageError(404, "No such failure", str(error)) from None
    except FailureConflictError as error:
        raise PageError(409, "Not possible now", str(error)) from None
    except InputError as error:
        raise PageError(422, "Still refused", str(error)) from None


def _replay(webhooks: Webhooks, message_id: str) -> bool:
    try:
        return webhooks.replay(message_id)
    except NotFoundError as error:
        raise PageError(404, "No such message", str(error)) from None
    except ConflictError as error:
        raise PageError(409, "Not possible now", str(error)) from None
