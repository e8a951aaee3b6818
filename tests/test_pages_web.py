"""The pages' HTTP helpers: when cookies are Secure, and what every page is sent with."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from config.settings import Settings
from feeds.pages.web import SECURITY_HEADERS, over_https, page, set_session


def request(scheme: str) -> Request:
    scope = {"type": "http", "scheme": scheme, "method": "GET", "path": "/portal/",
             "headers": [], "server": ("example.org", 443), "query_string": b""}  # fmt: skip
    return Request(scope)


def settings(site_url: str) -> Settings:
    return Settings.from_env({"SYNDICATE_SITE_URL": site_url, "SYNDICATE_DATA_DIR": "/nowhere"})


def test_cookies_are_secure_over_https_or_behind_a_tls_proxy() -> None:
    assert over_https(request("https"), settings("http://127.0.0.1:8080"))
    assert over_https(request("http"), settings("https://news.example.org"))
    assert not over_https(request("http"), settings("http://127.0.0.1:8080"))
    secure, plain = Response(), Response()
    set_session(secure, "s", "v", path="/portal", expires=2e9, secure=True)
    set_session(plain, "s", "v", path="/portal", expires=2e9, secure=False)
    assert "secure" in secure.headers["set-cookie"].lower()
    assert "secure" not in plain.headers["set-cookie"].lower()
    for cookie in (secure, plain):
        assert "httponly" in cookie.headers["set-cookie"].lower()
        assert "samesite=strict" in cookie.headers["set-cookie"].lower()


def test_every_page_has_the_security_headers_and_no_script() -> None:
    templates = Path(__file__).resolve().parents[1] / "feeds" / "pages" / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert "<script" not in text and " style=" not in text, template
        assert not re.search(r"\son\w+=", text), template  # no inline event handler
    shown = page("error.html", 404, title="<b>t</b>", detail="<i>d</i>")
    for name, value in SECURITY_HEADERS.items():
        assert shown.headers[name] == value
    assert b"&lt;b&gt;t&lt;/b&gt;" in shown.body and b"<i>" not in shown.body
