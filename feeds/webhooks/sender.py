"""Sending one webhook request: the only part of delivery that does HTTP.

A pooled ``requests.Session`` per worker thread (connections are reused per host),
with the SSRF guard applied to every new connection (:mod:`feeds.safe_http`),
redirects never followed, a connect timeout and a total deadline, and at most
:data:`RESPONSE_KEEP_BYTES` of the response body read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests
import urllib3.exceptions

from feeds.addresses import AddressRefusedError, Network
from feeds.safe_http import ThreadSessions

USER_AGENT = "syndicate-webhooks/0.1 (+https://www.standardwebhooks.com/)"
RESPONSE_KEEP_BYTES = 2048


@dataclass(frozen=True, slots=True)
class Response:
    """What one attempt got back (``status`` is None when no response came)."""

    status: int | None
    latency: float
    body: str = ""
    error: str | None = None
    retry_after: str | None = None
    location: str | None = None


class Sender:
    """Sends signed requests; one session per thread."""

    def __init__(
        self, allowed: tuple[Network, ...], *, connect_timeout: float, timeout: float
    ) -> None:
        self.allowed = allowed
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._sessions = ThreadSessions(allowed, user_agent=USER_AGENT)

    def session(self) -> requests.Session:
        return self._sessions.get()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST ``body``; never raises for network trouble, it is part of the response."""
        started = time.monotonic()
        deadline = started + self.connect_timeout + self.timeout
        try:
            with self.session().post(
                url, data=body, headers=dict(headers), allow_redirects=False, stream=True,
                timeout=(self.connect_timeout, self.timeout),
            ) as response:  # fmt: skip
                kept = _read_bounded(response, deadline)
                return Response(
                    status=response.status_code,
                    latency=time.monotonic() - started,
                    body=kept.decode("utf-8", "replace"),
                    retry_after=response.headers.get("retry-after"),
                    location=response.headers.get("location"),
                )
        except AddressRefusedError as error:
            return Response(None, time.monotonic() - started, error=f"address refused: {error}")
        except requests.Timeout:
            return Response(None, time.monotonic() - started, error="timeout")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            return Response(None, time.monotonic() - started, error=_describe(error))


def _read_bounded(response: requests.Response, deadline: float) -> bytes:
    """Up to RESPONSE_KEEP_BYTES of the body, never past the deadline."""
    kept = bytearray()
    for chunk in response.raw.stream(512, decode_content=True):
        kept += chunk
        if len(kept) >= RESPONSE_KEEP_BYTES or time.monotonic() > deadline:
            break
    return bytes(kept[:RESPONSE_KEEP_BYTES])


def _describe(error: Exception) -> str:
    """A short, secret-free description of a transport error."""
    name = type(error).__name__
    if isinstance(error, requests.Timeout | urllib3.exceptions.TimeoutError):
        return "timeout"
    reason = str(error.__context__ or error)
    return f"{name}: {reason[:300]}"
