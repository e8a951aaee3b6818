"""What the portal and the dashboard share at the HTTP edge: templates, security
headers, form bodies, CSRF checks and session cookies.

Templates are Jinja2 with autoescape on for every file: a value reaches the page as
text unless it is :class:`markupsafe.Markup` (only :mod:`feeds.pages.charts` makes
some). Every page is sent with a strict Content-Security-Policy: no script at all,
styles and images from this site only, forms posting back to it only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config.settings import Settings
from feeds.api_base import read_body
from feeds.pages import tokens
from feeds.pages.forms import Form
from worker.status import age_text

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_FORM_LIMIT = 16 * 1024

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PageError(Exception):
    """A request the pages refuse, answered as an HTML page with ``status``."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def when(timestamp: float | None) -> str:
    """A time as the pages show it (UTC, to the second)."""
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.filters["when"] = when
templates.filters["age"] = age_text


def page(name: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template as a response with the security headers."""
    markup = templates.get_template(name).render(**context)
    return HTMLResponse(markup, status_code=http_status, headers=SECURITY_HEADERS)


def error_page(error: PageError) -> HTMLResponse:
    return page("error.html", error.status, title=error.title, detail=error.detail)


def redirect(location: str) -> Response:
    """303 See Other: after a form, the browser loads ``location`` with GET."""
    return Response(status_code=303, headers={"Location": location, **SECURITY_HEADERS})


async def form_fields(request: Request) -> Form:
    """An ``application/x-www-form-urlencoded`` body."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise PageError(415, "Not a form", "this address takes a form submitted from its page")
    body = await read_body(request, _FORM_LIMIT)
    return Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def require_csrf(key: bytes, session: str, fields: Form) -> None:
    """Refuse a form whose CSRF token is missing or belongs to another session."""
    if not tokens.csrf_matches(key, session, fields.get("csrf", "")):
        raise PageError(
            403, "Form expired", "the form was not sent from this session's page; reload it"
        )


def over_https(request: Request, settings: Settings) -> bool:
    """Whether the pages are served over https: this request came so, or the site's public
    address is https (TLS ended by a proxy in front)."""
    return request.url.scheme == "https" or settings.site_url.startswith("https:")


def set_session(
    response: Response, name: str, value: str, *, path: str, expires: float, secure: bool
) -> None:
    """A session cookie: HttpOnly, SameSite=Strict, and Secure when served over https."""
    response.set_cookie(
        name, value, max_age=max(1, int(expires - time.time())), path=path, httponly=True,
        samesite="strict", secure=secure,
    )  # fmt: skip


def clear_session(response: Response, name: str, *, path: str, secure: bool) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="strict", secure=secure)
