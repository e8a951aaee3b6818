"""Sending webhook requests, many at once: an asyncio HTTP client with pooled connections.

One :class:`AsyncSender` per process runs an event loop in a thread of its own; callers
in any thread hand it a batch of requests and get each response as it comes, through a
callback (so a slow endpoint delays nobody else's result). Connections are kept alive
and reused per origin (aiohttp's connector pools them by host, port and TLS).

The SSRF guard holds at connect time, as :mod:`feeds.safe_http` does for requests:

* a host name is resolved by :class:`GuardedResolver` each time a connection is made
  (no DNS cache), every address is judged, and the socket is connected to the addresses
  judged (so DNS rebinding finds nothing to rebind);
* aiohttp does not ask the resolver for an IP literal, so those are judged here before
  the request (there is no DNS step for them to change);
* proxies are never used (``trust_env=False``) and redirects are never followed.

TLS still verifies the certificate and sends SNI for the URL's host name.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from feeds.addresses import (
    AddressRefusedError,
    Network,
    Resolver,
    check_addresses,
    parse_host,
    resolve_host,
    system_resolver,
)

USER_AGENT = "syndicate-webhooks/0.1 (+https://www.standardwebhooks.com/)"
RESPONSE_KEEP_BYTES = 2048
#: Connections open at once per process, over every origin.
MAX_CONNECTIONS = 2000


@dataclass(frozen=True, slots=True)
class Response:
    """What one attempt got back (``status`` is None when no response came)."""

    status: int | None
    latency: float
    body: str = ""
    error: str | None = None
    retry_after: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One POST to send."""

    url: str
    body: bytes
    headers: Mapping[str, str]


#: Called from the sender's loop thread with a request's index and its response.
Done = Callable[[int, Response], None]


class GuardedResolver(AbstractResolver):
    """Resolves a host for a new connection and returns only addresses the guard allows;
    raises :class:`AddressRefusedError` if any address of the host is refused."""

    def __init__(self, allowed: Sequence[Network], resolve: Resolver = system_resolver) -> None:
        self.allowed = tuple(allowed)
        self.resolve_name = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        # The system resolver blocks: it runs in the loop's default thread pool.
        texts = await loop.run_in_executor(None, resolve_host, host, port, self.resolve_name)
        addresses = check_addresses(host, texts, self.allowed)
        return [
            ResolveResult(
                hostname=host, host=str(address), port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]  # fmt: skip

    async def close(self) -> None:
        return None


class AsyncSender:
    """Sends batches of POSTs concurrently from an event loop thread of its own."""

    def __init__(
        self,
        allowed: Sequence[Network],
        *,
        connect_timeout: float,
        timeout: float,
        resolve: Resolver = system_resolver,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self.resolve = resolve
        self.tls = tls  # None: the default context (system CAs, host name checked)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="webhook-sender", daemon=True
        )
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None

    def send(self, requests: Sequence[Request], done: Done) -> Future[None]:
        """Send every request at once; ``done(index, response)`` is called as each
        response comes (in the loop's thread). The future resolves when all are done."""
        return asyncio.run_coroutine_threadsafe(self._send_all(requests, done), self._loop)

    def post(self, request: Request) -> Response:
        """Send one request and wait for its response."""
        got: list[Response] = []
        self.send([request], lambda _, response: got.append(response)).result()
        return got[0]

    def close(self) -> None:
        """Close the pooled connections and stop the loop's thread."""
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _send_all(self, requests: Sequence[Request], done: Done) -> None:
        session = self._client()

        async def one(index: int, request: Request) -> None:
            done(index, await self._post(session, request))

        await asyncio.gather(*(one(index, r) for index, r in enumerate(requests)))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allowed, self.resolve),
                use_dns_cache=False,
                limit=MAX_CONNECTIONS,
                limit_per_host=0,  # an endpoint's own cap is its in-flight limit
                ssl=self.tls if self.tls is not None else True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(
                    total=self.connect_timeout + self.timeout,
                    sock_connect=self.connect_timeout,
                    sock_read=self.timeout,
                ),
                skip_auto_headers=("Content-Type",),
            )
        return self._session

    async def _post(self, session: aiohttp.ClientSession, request: Request) -> Response:
        """POST one request; never raises for network trouble, it is part of the response."""
        started = time.monotonic()
        try:
            _check_literal_host(request.url, self.allowed)
            async with session.post(
                request.url, data=request.body, headers=dict(request.headers),
                allow_redirects=False,
            ) as response:  # fmt: skip
                kept = await _read_bounded(response.content)
                return Response(
                    status=response.status,
                    latency=time.monotonic() - started,
                    body=kept.decode("utf-8", "replace"),
                    retry_after=response.headers.get("retry-after"),
                    location=response.headers.get("location"),
                )
        except AddressRefusedError as error:
            return Response(None, time.monotonic() - started, error=f"address refused: {error}")
        except TimeoutError:
            return Response(None, time.monotonic() - started, error="timeout")
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return Response(None, time.monotonic() - started, error=describe(error, request.url))
        except Exception as error:  # any other failure is a failed attempt too: every
            # request of a batch must end with a response
            return Response(None, time.monotonic() - started, error=describe(error, request.url))


def _check_literal_host(url: str, allowed: Sequence[Network]) -> None:
    """Judge a URL whose host is an IP address (aiohttp connects to it without a resolver)."""
    host = URL(url).raw_host or ""
    target = parse_host(host)
    if not isinstance(target, str):
        check_addresses(host, [str(target)], allowed)


async def _read_bounded(content: aiohttp.StreamReader) -> bytes:
    """Up to RESPONSE_KEEP_BYTES of the body (the rest is never read)."""
    kept = bytearray()
    while len(kept) < RESPONSE_KEEP_BYTES:
        chunk = await content.read(RESPONSE_KEEP_BYTES - len(kept))
        if not chunk:
            break
        kept += chunk
    return bytes(kept)


def describe(error: BaseException, url: str = "") -> str:
    """A short description of a transport error, naming the path asked for as requests
    did (log lines pass through the redaction of secrets)."""
    if isinstance(error, aiohttp.ServerTimeoutError | TimeoutError):
        return "timeout"
    cause: Any = error.__cause__ or error.__context__
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(cause, AddressRefusedError):
        return f"address refused: {cause}"
    reason = (str(error) or str(cause or ""))[:300]
    path = URL(url).raw_path_qs if url else ""
    return f"{type(error).__name__}: {reason}" + (f" (url: {path})" if path else "")
