"""The HTTP API (FastAPI on uvicorn).

FastAPI was chosen for its OpenAPI document (``/openapi.json``, which other tools and
the schemathesis fuzzing use), typed request handling on Starlette, and uvicorn's
production-grade ASGI server; the handlers stay thin adapters around
:class:`worker.submit.Submitter` and :class:`worker.store.Store`.

Every error is JSON: ``{"error": {"code", "message", ...}}``; no stack trace reaches a
client.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import kombu.exceptions
import redis
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.logging import configure_logging
from config.settings import Settings
from feeds.api_base import ApiError, error_response, read_body
from feeds.api_failures import install_failure_routes
from feeds.api_ops import install_ops_routes
from feeds.api_portal import install_portal_link_route
from feeds.api_schemas import ARTICLE_BODY
from feeds.api_webhooks import install_webhook_routes
from feeds.index_page import feed_index_html
from feeds.pages.site import install_pages
from feeds.publish import DocumentHead, Publisher, read_public_file
from feeds.webhooks.service import Webhooks
from feeds.websub import Hub, HubRequestError, parse_hub_request
from worker.core.errors import InputError
from worker.database.connect import DATABASE_TROUBLE
from worker.store import ArticleRecord
from worker.submit import Submitter

log = logging.getLogger(__name__)

ENVELOPE_FORMATS = ("text", "markdown", "html", "json")


def create_app(settings: Settings, submitter: Submitter) -> FastAPI:
    """The ASGI application."""
    app = FastAPI(
        title="syndicate",
        version="0.1.0",
        description="Articles in; summarized feeds and signed webhooks out.",
        # FastAPI's own OpenTelemetry: a server span per request once worker.tracing has
        # set a tracer provider (none is set without OTEL_EXPORTER_OTLP_ENDPOINT, and it
        # then does nothing). The request span alone: tasks hang under it.
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
    )
    _install_error_handlers(app)
    require_token = _token_checker(settings)

    @app.post("/v1/articles", status_code=202, dependencies=[Depends(require_token)],
              openapi_extra=ARTICLE_BODY)  # fmt: skip
    async def submit_article(request: Request) -> JSONResponse:
        """Submit a new or updated article (JSON fields, a {format, body} envelope, or raw)."""
        body = await read_body(request, settings.max_request_bytes)
        content_type = request.headers.get("content-type")
        try:
            data, format_, inner_type = _unwrap(body, content_type)
        except ApiError as error:
            await run_in_threadpool(
                submitter.store.record_rejected,
                raw=body, error=error.message, content_type=content_type, at=time.time(),
            )  # fmt: skip
            raise
        try:
            # Parsing and Redis calls block: keep them off the event loop.
            accepted = await run_in_threadpool(
                submitter.submit, data, format=format_, content_type=inner_type
            )
        except InputError as error:
            raise ApiError(
                422, "invalid_input", str(error), problem=error.problem, line=error.line
            ) from None
        status_url = f"/v1/articles/{accepted.article_id}"
        return JSONResponse(
            {
                "id": accepted.article_id,
                "status_url": status_url,
                "submission": accepted.submission_id,
                "status": "queued",
                "warnings": list(accepted.warnings),
            },
            status_code=202,
            headers={"Location": status_url},
        )

    @app.get("/v1/articles/{article_id}")
    def get_article(article_id: str) -> dict[str, Any]:
        """The stored article, its version, status and history of versions."""
        record = submitter.store.article(article_id)
        if record is None:
            raise ApiError(404, "not_found", f"no article with id {article_id!r}")
        return _record_json(record)

    @app.get("/v1/articles/{article_id}/versions/{version}")
    def get_article_version(article_id: str, version: int) -> dict[str, Any]:
        """One stored version of an article."""
        article = submitter.store.article_version(article_id, version)
        if article is None:
            raise ApiError(404, "not_found", f"article {article_id!r} has no version {version}")
        document: dict[str, Any] = json.loads(article.to_json())
        return {"id": article_id, "version": version, "article": document}

    @app.delete("/v1/articles/{article_id}", status_code=202, dependencies=[Depends(require_token)])
    def delete_article(article_id: str) -> JSONResponse:
        """Withdraw an article: a tombstone that the publishers see."""
        submission = submitter.withdraw(article_id)
        if submission is None:
            raise ApiError(404, "not_found", f"no article with id {article_id!r}")
        status_url = f"/v1/articles/{article_id}"
        body = {"id": article_id, "status_url": status_url, "submission": submission.id}
        return JSONResponse(body | {"status": "queued"}, status_code=202)

    @app.get("/v1/submissions/{submission_id}")
    def get_submission(submission_id: str) -> dict[str, Any]:
        """What became of one submission (queued, processing, done, failed)."""
        submission = submitter.store.submission(submission_id)
        if submission is None:
            raise ApiError(404, "not_found", f"no submission with id {submission_id!r}")
        return {
            "id": submission.id,
            "article_id": submission.article_id,
            "kind": submission.kind,
            "seq": submission.seq,
            "status": submission.status,
            "result": submission.result,
            "version": submission.version,
            "error": submission.error,
        }

    _install_feed_routes(app, settings, submitter)
    webhooks, wake_delivery = Webhooks(submitter.store, settings), _delivery_waker(submitter)
    install_webhook_routes(app, webhooks, require_token, wake_delivery)
    install_portal_link_route(app, webhooks, require_token)
    install_pages(app, submitter, webhooks, wake_delivery)
    install_failure_routes(app, submitter, require_token)
    install_ops_routes(app, submitter.store, settings.broker_url)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


_STORE_TROUBLE: tuple[type[Exception], ...] = (redis.RedisError, *DATABASE_TROUBLE)


def feed_response(request: Request, path: str, publisher: Publisher, max_age: int) -> Response:
    """The document, or 304 when the client's validators match (then no body is read)."""
    compressed = _accepts_gzip(request.headers.get("accept-encoding", ""))
    conditional = "if-none-match" in request.headers or "if-modified-since" in request.headers
    found = publisher.read(path, body=None if conditional else _field(compressed))
    if found is None:
        raise ApiError(404, "not_found", f"no feed at /feeds/{path}")
    head, body = found
    headers = _feed_headers(head, compressed, max_age)
    if conditional:
        if _not_modified(request, (headers["ETag"], head.etag), head.last_modified):
            return Response(status_code=304, headers=headers)
        found = publisher.read(path, body=_field(compressed))  # validators and bytes together
        if found is None:
            raise ApiError(404, "not_found", f"no feed at /feeds/{path}")
        head, body = found
        headers = _feed_headers(head, compressed, max_age)
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=head.media_type, headers=headers)


def file_feed_response(request: Request, path: str, settings: Settings) -> Response:
    """The last published file of a document (identity encoding), or 503 without one."""
    found = read_public_file(settings.public_dir, path)
    if found is None:
        raise ApiError(503, "unavailable", "the store is unavailable; try again shortly")
    head, body = found
    headers = _feed_headers(head, False, settings.feed_max_age) | {"X-Syndicate-Source": "file"}
    del headers["Link"]
    # A client holding the gzip variant's ETag has the same document: 304 too.
    if _not_modified(request, (head.etag, head.etag[:-1] + '-gzip"'), head.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=head.media_type, headers=headers)


def _install_feed_routes(app: FastAPI, settings: Settings, submitter: Submitter) -> None:
    """GET /feeds/..., the /feeds/ index and the WebSub hub."""
    publisher = Publisher(submitter.store, settings)
    hub = Hub(submitter.store, settings) if settings.hub_url else None

    @app.post("/websub", status_code=202)
    async def websub(request: Request) -> Response:
        """The WebSub hub: subscribe or unsubscribe (form-encoded hub.* fields)."""
        if hub is None:
            raise ApiError(404, "not_found", "the WebSub hub is switched off")
        body = await read_body(request, 64 * 1024)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            hub_request = parse_hub_request(form)
            await run_in_threadpool(hub.check_callback, hub_request.callback)
        except HubRequestError as error:
            raise ApiError(400, "bad_hub_request", str(error)) from None
        submitter.enqueue_task("syndicate.websub_verify", asdict(hub_request))
        return Response(status_code=202)

    @app.get("/feeds/", response_class=HTMLResponse)
    def feed_index() -> HTMLResponse:
        """An HTML page listing every published feed in its three formats."""
        page = feed_index_html(settings.site_title, publisher.catalogue())
        return HTMLResponse(page.markup)

    # Two registrations, not api_route(methods=[...]): that gives both one operation id.
    @app.head("/feeds/{path:path}", operation_id="head_feed")
    @app.get("/feeds/{path:path}", operation_id="get_feed")
    def get_feed(path: str, request: Request) -> Response:
        """A published feed document, with validators, 304s and gzip."""
        try:
            return feed_response(request, path, publisher, settings.feed_max_age)
        except _STORE_TROUBLE as error:
            # Aggregators keep getting the last published documents while the store is away.
            log.warning("store unavailable (%s); serving /feeds/%s from files", error, path)
            return file_feed_response(request, path, settings)


def _field(compressed: bool) -> str:
    return "gzip" if compressed else "body"


def _feed_headers(head: DocumentHead, compressed: bool, max_age: int) -> dict[str, str]:
    return {
        "ETag": head.etag[:-1] + '-gzip"' if compressed else head.etag,
        "Last-Modified": head.last_modified,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
        "Link": ", ".join(f'<{href}>; rel="{rel}"' for rel, href in head.links),
    }


def _accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        coding, _, parameters = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return parameters.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(request: Request, etags: tuple[str, str], last_modified: str) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        presented = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in presented or bool(presented & set(etags))
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def _delivery_waker(submitter: Submitter) -> Callable[[], None]:
    def wake() -> None:
        # Best effort: the beat promotes due messages every tick anyway.
        try:
            submitter.enqueue_task("syndicate.deliver_dispatch", "api")
        except Exception as error:
            log.warning("could not wake the delivery worker: %s", error)

    return wake


def _token_checker(settings: Settings) -> Any:
    tokens = [token.encode() for token in settings.api_tokens]

    def require_token(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "unauthorized", "a bearer token is required for this request")
        candidate = presented.strip().encode()
        # Compare with every token so the time taken does not tell which one matched.
        matched = False
        for token in tokens:
            matched |= hmac.compare_digest(candidate, token)
        if not matched:
            raise ApiError(403, "forbidden", "the token is not valid")

    return require_token


def _unwrap(body: bytes, content_type: str | None) -> tuple[bytes, str | None, str | None]:
    """Raw article bytes, explicit format and content type from a request body.

    A JSON object with ``format`` and ``body`` is an envelope around a text, Markdown
    or HTML article; any other JSON is the article's structured fields.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return _as_utf8(body, content_type), None, content_type
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body, "json", content_type  # the parser reports the JSON error precisely
    if isinstance(document, dict) and set(document) == {"format", "body"}:
        format_, inner = document["format"], document["body"]
        if format_ not in ENVELOPE_FORMATS or not isinstance(inner, str):
            raise ApiError(
                422,
                "invalid_input",
                'an envelope is {"format": "text|markdown|html|json", "body": "<article>"}',
                problem="invalid_field",
            )
        return inner.encode("utf-8", "surrogatepass"), format_, None
    return body, "json", content_type


def _as_utf8(body: bytes, content_type: str | None) -> bytes:
    """The body re-encoded as UTF-8 when its content type names another charset."""
    charset = ""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if not charset or charset.replace("-", "").replace("_", "") in ("utf8", "usascii", "ascii"):
        return body
    try:
        return body.decode(charset).encode("utf-8")
    except LookupError:
        raise ApiError(415, "unsupported_charset", f"unknown charset {charset!r}") from None
    except UnicodeDecodeError as error:
        raise ApiError(
            422,
            "invalid_input",
            f"the body is not valid {charset} (offset {error.start})",
            problem="encoding",
        ) from None


def _record_json(record: ArticleRecord) -> dict[str, Any]:
    article = json.loads(record.article.to_json()) if record.article else None
    return {
        "id": record.id,
        "version": record.version,
        "status": record.status,
        "deleted": record.deleted,
        "error": record.error,
        "article": article,
        "history": record.history,
    }


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, **error.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if error.status_code == 404 else "http_error"
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    async def store_unavailable(_: Request, error: Exception) -> JSONResponse:
        log.error("store unavailable: %s", error)
        return error_response(503, "unavailable", "the store is unavailable; try again shortly")

    app.add_exception_handler(redis.RedisError, store_unavailable)
    for trouble in DATABASE_TROUBLE:
        app.add_exception_handler(trouble, store_unavailable)
    app.add_exception_handler(kombu.exceptions.OperationalError, store_unavailable)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, error: Exception) -> JSONResponse:
        log.exception("internal error")
        return error_response(500, "internal", "internal error")


def build_app() -> FastAPI:
    """The app for ``uvicorn --factory feeds.api:build_app``, configured from the environment."""
    settings = Settings.from_env()
    # uvicorn has configured its loggers by now: follow its --log-level, take over its handlers
    configure_logging(
        settings, process="api", level=logging.getLogger("uvicorn.error").level or logging.INFO
    )
    return create_app(settings, Submitter.from_settings(settings))
