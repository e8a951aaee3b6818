"""The asynchronous webhook sender against real HTTP servers on 127.0.0.1: the SSRF
guard at connect time (DNS rebinding included), no redirects, timeouts, bounded
responses, keep-alive and TLS."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds.addresses import check_url
from feeds.webhooks.sender import RESPONSE_KEEP_BYTES, AsyncSender, Request, Response
from tests.test_addresses import (
    LOOPBACK,
    FakeResolver,
    Recorder,
    RecordingHandler,
    _serve,
    everything_public,
    tls_server,  # noqa: F401 - a fixture
)


@pytest.fixture
def server() -> Iterator[Recorder]:
    yield from _serve(Recorder())


def sender(allowed: Any = LOOPBACK, resolve: Any = None, **options: Any) -> AsyncSender:
    return AsyncSender(
        allowed, connect_timeout=options.pop("connect_timeout", 2.0),
        timeout=options.pop("timeout", 2.0),
        resolve=resolve or FakeResolver(["127.0.0.1"]), **options,
    )  # fmt: skip


def post(url: str, body: bytes = b"{}", **options: Any) -> Response:
    client = sender(**options)
    try:
        return client.post(Request(url, body, {"webhook-id": "msg_1"}))
    finally:
        client.close()


def test_rebinding_resolver_cannot_reach_a_private_address(server: Recorder) -> None:
    rebinding = FakeResolver(["93.184.216.34"], ["127.0.0.1"])
    url = f"http://rebind.test:{server.port}/hook"
    assert check_url(url, (), rebinding) == ["93.184.216.34"]  # the subscription-time check
    response = post(url, b"secret", allowed=(), resolve=rebinding)
    assert response.status is None
    assert response.error is not None and response.error.startswith("address refused")
    assert "127.0.0.1" in response.error
    assert rebinding.calls == [("rebind.test", server.port)] * 2
    assert server.connections == 0


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.5"], ["169.254.169.254"], ["127.0.0.1", "10.0.0.5"], ["::ffff:10.0.0.5"]],
)
def test_name_resolving_to_a_private_address_is_refused(
    server: Recorder, answers: list[str]
) -> None:
    response = post(f"http://looks-fine.test:{server.port}/hook", resolve=FakeResolver(answers))
    assert response.error is not None and "not public" in response.error
    assert server.connections == 0


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/", "http://[::1]:{port}/", "http://2130706433:{port}/",
     "http://0x7f.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/", "http://127.1:{port}/"],
)  # fmt: skip
def test_literal_and_odd_spellings_are_refused(server: Recorder, url: str) -> None:
    resolver = everything_public()
    response = post(url.format(port=server.port), allowed=(), resolve=resolver)
    assert response.status is None
    assert response.error is not None and response.error.startswith("address refused")
    assert resolver.calls == []
    assert server.connections == 0


def test_allowed_address_is_reached_with_the_original_host(server: Recorder) -> None:
    resolver = FakeResolver(["127.0.0.1"])
    url = f"http://service.test:{server.port}/hook?x=1"
    response = post(url, b"payload", resolve=resolver)
    assert (response.status, response.body) == (200, "ok")
    assert resolver.calls == [("service.test", server.port)]
    [received] = server.requests
    assert received["headers"]["Host"] == f"service.test:{server.port}"
    assert received["headers"]["webhook-id"] == "msg_1"
    assert received["headers"]["User-Agent"].startswith("syndicate-webhooks/")
    assert (received["method"], received["path"], received["body"]) == (
        "POST", "/hook?x=1", b"payload",
    )  # fmt: skip


def test_keep_alive_reuses_one_checked_connection(server: Recorder) -> None:
    # a second resolution would answer a refused address: the pooled socket must be reused
    resolver = FakeResolver(["127.0.0.1"], ["10.0.0.5"])
    client = sender(resolve=resolver)
    url = f"http://service.test:{server.port}/"
    statuses = [client.post(Request(url, b"{}", {})).status for _ in range(3)]
    client.close()
    assert statuses == [200, 200, 200]
    assert len(server.requests) == 3
    assert server.connections == 1
    assert len(resolver.calls) == 1


def test_a_batch_is_sent_at_once_and_answered_as_each_comes(slow_server: SlowServer) -> None:
    client = sender()
    got: list[tuple[int, float]] = []
    started = time.monotonic()
    base = f"http://slow.test:{slow_server.port}"
    requests = [Request(f"{base}/{delay}", b"{}", {}) for delay in (0.6, 0.0, 0.3, 0.0)]
    client.send(requests, lambda i, r: got.append((i, time.monotonic() - started))).result(10)
    client.close()
    assert sorted(index for index, _ in got[:2]) == [1, 3]
    assert [index for index, _ in got[2:]] == [2, 0]
    assert got[-1][1] < 1.0  # all at once: not 0.9 s one after the other plus overhead


def test_redirects_are_not_followed(slow_server: SlowServer) -> None:
    response = post(f"http://slow.test:{slow_server.port}/redirect")
    assert response.status == 302
    assert response.location == "http://127.0.0.1:1/elsewhere"
    assert slow_server.paths == ["/redirect"]


def test_a_silent_endpoint_times_out(slow_server: SlowServer) -> None:
    started = time.monotonic()
    response = post(f"http://slow.test:{slow_server.port}/5", timeout=0.5)
    assert (response.status, response.error) == (None, "timeout")
    assert time.monotonic() - started < 2.5


def test_only_the_start_of_a_long_response_is_kept(slow_server: SlowServer) -> None:
    response = post(f"http://slow.test:{slow_server.port}/long")
    assert response.status == 200
    assert response.body == "x" * RESPONSE_KEEP_BYTES


def test_unreachable_port_is_a_failed_attempt() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = post(f"http://closed.test:{port}/")
    assert response.status is None
    assert response.error is not None and "Connect" in response.error


def test_tls_verifies_and_sends_sni_for_the_host_name(
    tls_server: tuple[Recorder, Path, list[str | None]],  # noqa: F811 - the fixture
) -> None:
    server, cert, names = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    response = post(f"https://service.test:{server.port}/", tls=context)
    assert response.status == 200
    assert names == ["service.test"]
    assert server.requests[0]["headers"]["Host"] == f"service.test:{server.port}"


def test_tls_still_refuses_a_certificate_for_another_name(
    tls_server: tuple[Recorder, Path, list[str | None]],  # noqa: F811 - the fixture
) -> None:
    server, cert, names = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    response = post(f"https://other.test:{server.port}/", tls=context)
    assert names == ["other.test"]
    assert response.status is None
    assert response.error is not None and "Certificate" in response.error
    assert server.requests == []


class SlowServer(Recorder):
    """A server whose answers take a while: /<seconds>, /redirect, /long."""

    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = SlowHandler
        self.paths: list[str] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) closed its socket: expected here.
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)


class SlowHandler(RecordingHandler):
    server: SlowServer

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.paths.append(self.path)
        if self.path == "/redirect":
            self._answer(302, b"", location="http://127.0.0.1:1/elsewhere")
        elif self.path == "/long":
            self._answer(200, b"x" * (RESPONSE_KEEP_BYTES * 4))
        else:
            time.sleep(float(self.path.strip("/")))
            self._answer(204, b"")

    def _answer(self, status: int, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
