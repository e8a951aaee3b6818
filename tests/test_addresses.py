"""The SSRF guard: URL checks (feeds.addresses) and connect-time pinning (feeds.safe_http).

No test touches the real network or DNS: resolvers are fakes, servers listen on
127.0.0.1, and host names end in ``.test`` (reserved, never resolvable).
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from feeds.addresses import (
    AddressRefusedError,
    check_address,
    check_url,
    is_public,
    parse_host,
    parse_networks,
)
from feeds.safe_http import Guard, GuardedHTTPConnection, safe_session

LOOPBACK = parse_networks("127.0.0.0/8")


class FakeResolver:
    """Answers from a table (or one answer for every name) and records every call."""

    def __init__(self, *answers: list[str], table: dict[str, list[str]] | None = None) -> None:
        self.answers = list(answers)
        self.table = table or {}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host in self.table:
            return self.table[host]
        if not self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        # the last answer repeats: (public, loopback) is a rebinding resolver
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def everything_public() -> FakeResolver:
    """A hostile resolver: any name it is asked is public. Literals must never reach it."""
    return FakeResolver(["93.184.216.34"])


# ---------------------------------------------------------------- check_url


REFUSED_URLS = [
    # loopback, every spelling inet_aton/getaddrinfo accepts
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0177.0.0.01/",
    "http://0x7f.0.0.1/",
    "http://0x7F.0x0.0x0.0x1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0x7f.1/",
    "http://127.0.0.1./",
    "http://127.0.0.1:8080/hook",
    "https://127.255.255.254/",
    "http://１２７。０。０。１/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    # unspecified
    "http://0/",
    "http://0.0.0.0/",
    "http://0x0/",
    "http://[::]/",
    # private
    "http://10.0.0.1/",
    "http://012.1/",
    "http://167772161/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:192.168.0.1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    "http://[fec0::1]/",
    # link-local and cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1%eth0]:8080/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",
    # CGNAT, benchmarking, documentation, reserved, broadcast, multicast
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://[ff0e::1]/",
    "http://[2001:db8::1]/",
    "http://[100::1]/",
    # IPv4 carried in IPv6: 6to4, Teredo, NAT64, local NAT64
    "http://[2002:7f00:1::1]/",
    "http://[2002:5db8:d822::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[64:ff9b::a00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::1]/",
    # the host is what follows the last @, and nothing may make parsers disagree on it
    "http://public.example@127.0.0.1/",
    "http://user:pass@127.0.0.1/",
    "http://93.184.216.34@127.0.0.1/",
    "http://a@b@10.0.0.1/",
    "http://127.0.0.1\\@public.example/",
    "http://127.0.0.1\\.public.example/",
    "http://127.0.0.1#@public.example/",
    "http://127.0.0.1?@public.example/",
    # numbers that are no valid address are not names either
    "http://08.0.0.1/",
    "http://0x/",
    "http://256.0.0.1/",
    "http://1.2.3.4.5/",
    "http://4294967296/",
    "http://1.16777216/",
    "http://public.1/",
    "http://127.0.0.1../",
    "http://.127.0.0.1/",
    "http://127..0.1/",
    # schemes, missing hosts, broken URLs
    "ftp://93.184.216.34/",
    "file:///etc/passwd",
    "gopher://93.184.216.34:70/",
    "javascript:alert(1)",
    "93.184.216.34/hook",
    "http:///hook",
    "http://",
    "http://:80/",
    "http://[::1/",
    "http://[not-an-address]/",
    "http://93.184.216.34:99999/",
    "http://93.184.216.34:port/",
    " http://127.0.0.1/",
    "http://127.0.0.1../",
    "http://.127.0.0.1/",
    "http://127..0.1/",
    "http://127.0.\n0.1/",
    "http://exa mple.test/",
    "http://ex%41mple.test/",
    "http://ex\u00admple.test/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_url(url: str) -> None:
    resolver = everything_public()
    with pytest.raises(AddressRefusedError):
        check_url(url, (), resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.0.0.1./",
        "http://[::ffff:127.0.0.1]/",
        "http://１２７。０。０。１/",
    ],
)
def test_literals_never_reach_the_resolver(url: str) -> None:
    resolver = everything_public()
    with pytest.raises(AddressRefusedError, match="not public"):
        check_url(url, (), resolver)
    assert resolver.calls == []


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address, not a bind
        ("0.0.0.0.", "0.0.0.0"),  # noqa: S104
        ("93.184.216.34", "93.184.216.34"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("example.test", "example.test"),
        ("EXAMPLE.test.", "example.test."),
        ("bücher.test", "xn--bcher-kva.test"),
        ("1e3.test", "1e3.test"),
    ],
)
def test_parse_host(host: str, meant: str) -> None:
    assert str(parse_host(host)) == meant


@pytest.mark.parametrize(
    ("name", "answers"),
    [
        ("localhost", ["127.0.0.1", "::1"]),
        ("metadata.test", ["169.254.169.254"]),
        ("intranet.test", ["10.20.30.40"]),
        ("mixed.test", ["93.184.216.34", "192.168.0.10"]),
        ("mapped.test", ["::ffff:10.0.0.1"]),
        ("sixtofour.test", ["2002:a00:1::1"]),
        ("linklocal.test", ["fe80::1%eth0"]),
        ("odd-answer.test", ["127.1"]),
        ("no-answer.test", []),
    ],
)
def test_names_resolving_to_refused_addresses(name: str, answers: list[str]) -> None:
    resolver = FakeResolver(table={name: answers})
    with pytest.raises(AddressRefusedError):
        check_url(f"https://{name}/hook", (), resolver)
    assert resolver.calls == [(name, 443)]


def test_unresolvable_name_is_refused() -> None:
    with pytest.raises(AddressRefusedError, match="cannot resolve"):
        check_url("http://nowhere.test/", (), FakeResolver())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://93.184.216.34/", ["93.184.216.34"]),
        ("https://1.1.1.1:8443/hook?x=1", ["1.1.1.1"]),
        ("http://[2606:4700::1111]/", ["2606:4700::1111"]),
        ("http://[::ffff:93.184.216.34]/", ["::ffff:5db8:d822"]),
        ("http://[64:ff9b::5db8:d822]/", ["64:ff9b::5db8:d822"]),
        ("http://1572395042/", ["93.184.216.34"]),
        ("http://example.test/", ["93.184.216.34", "2606:4700::1111"]),
        ("http://user:pass@example.test/", ["93.184.216.34", "2606:4700::1111"]),
        ("http://127.0.0.1@example.test/", ["93.184.216.34", "2606:4700::1111"]),
    ],
)
def test_public_urls_pass(url: str, expected: list[str]) -> None:
    resolver = FakeResolver(table={"example.test": ["93.184.216.34", "2606:4700::1111"]})
    assert check_url(url, (), resolver) == expected


def test_resolver_gets_the_ascii_name_and_port() -> None:
    resolver = FakeResolver(["93.184.216.34"])
    check_url("https://Bücher.test.:8443/", (), resolver)
    assert resolver.calls == [("xn--bcher-kva.test.", 8443)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://2130706433/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://loopback.test/",
    ],
)
def test_allow_list_lets_listed_networks_through(url: str) -> None:
    resolver = FakeResolver(table={"loopback.test": ["127.0.0.1"]})
    assert check_url(url, LOOPBACK, resolver) != []


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://[::1]/", "http://169.254.169.254/"])
def test_allow_list_lets_nothing_else_through(url: str) -> None:
    with pytest.raises(AddressRefusedError):
        check_url(url, LOOPBACK, everything_public())


def test_allow_list_of_ipv6_networks() -> None:
    allowed = parse_networks("::1/128, fd00::/8")
    assert check_url("http://[::1]/", allowed, everything_public()) == ["::1"]
    assert check_url("http://[fd12::5]/", allowed, everything_public()) == ["fd12::5"]
    with pytest.raises(AddressRefusedError):
        check_url("http://127.0.0.1/", allowed, everything_public())


def test_parse_networks_refuses_garbage() -> None:
    with pytest.raises(AddressRefusedError):
        parse_networks("127.0.0.0/8, not-a-network")


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("::ffff:93.184.216.34", True),
        ("100.64.0.1", False),
        ("fe80::1%eth0", False),
        ("2002:5db8:d822::1", False),
        ("::", False),
    ],
)
def test_is_public(text: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(text)) is public


def test_check_address_wants_plain_addresses_from_resolvers() -> None:
    assert str(check_address("93.184.216.34", ())) == "93.184.216.34"
    with pytest.raises(AddressRefusedError, match="not an IP address"):
        check_address("0x5db8d822", ())


# ---------------------------------------------------------------- safe_session


class Recorder(ThreadingHTTPServer):
    """A local HTTP/1.1 server that records connections and requests."""

    daemon_threads = True

    def __init__(self, address: str = "127.0.0.1") -> None:
        super().__init__((address, 0), RecordingHandler)
        self.connections = 0
        self.requests: list[dict[str, Any]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


class RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def do_GET(self) -> None:
        self._record(b"")

    def do_POST(self) -> None:
        self._record(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _record(self, body: bytes) -> None:
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers),
             "body": body, "client": self.client_address}
        )  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: Recorder) -> Iterator[Recorder]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server() -> Iterator[Recorder]:
    yield from _serve(Recorder())


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    yield from _serve(Recorder())


def test_rebinding_resolver_cannot_reach_a_private_address(server: Recorder) -> None:
    rebinding = FakeResolver(["93.184.216.34"], ["127.0.0.1"])
    url = f"http://rebind.test:{server.port}/hook"
    assert check_url(url, (), rebinding) == ["93.184.216.34"]  # the subscription-time check
    session = safe_session((), resolve=rebinding, user_agent="test")
    with pytest.raises(AddressRefusedError, match=r"127\.0\.0\.1"):
        session.post(url, data=b"secret", timeout=5, allow_redirects=False)
    session.close()
    assert rebinding.calls == [("rebind.test", server.port)] * 2
    assert server.connections == 0
    assert server.requests == []


def test_refusal_is_not_a_connection_error(server: Recorder) -> None:
    session = safe_session((), resolve=FakeResolver(["127.0.0.1"]), user_agent="test")
    with pytest.raises(AddressRefusedError) as caught:
        session.get(f"http://loopback.test:{server.port}/", timeout=5)
    assert not isinstance(caught.value, requests.RequestException)
    assert server.connections == 0


def test_allowed_address_is_reached_with_the_original_host(server: Recorder) -> None:
    resolver = FakeResolver(["127.0.0.1"])
    session = safe_session(LOOPBACK, resolve=resolver, user_agent="syndicate-test/1")
    url = f"http://service.test:{server.port}/hook?x=1"
    response = session.post(url, data=b"payload", timeout=5, allow_redirects=False)
    session.close()
    assert response.status_code == 200
    assert resolver.calls == [("service.test", server.port)]
    [received] = server.requests
    assert received["headers"]["Host"] == f"service.test:{server.port}"
    assert received["headers"]["User-Agent"] == "syndicate-test/1"
    assert (received["method"], received["path"], received["body"]) == (
        "POST", "/hook?x=1", b"payload",
    )  # fmt: skip


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.5"], ["169.254.169.254"], ["127.0.0.1", "10.0.0.5"], ["::ffff:10.0.0.5"]],
)
def test_name_resolving_to_a_private_address_is_refused(
    server: Recorder, answers: list[str]
) -> None:
    session = safe_session(LOOPBACK, resolve=FakeResolver(answers), user_agent="test")
    with pytest.raises(AddressRefusedError, match="not public"):
        session.post(f"http://looks-fine.test:{server.port}/hook", data=b"x", timeout=0.5)
    assert server.connections == 0


@pytest.mark.parametrize(
    "url",
    ["http://2130706433:{port}/", "http://0x7f.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/"],
)
def test_odd_spellings_are_refused_at_connect_time(server: Recorder, url: str) -> None:
    resolver = everything_public()
    session = safe_session((), resolve=resolver, user_agent="test")
    with pytest.raises(AddressRefusedError):
        session.get(url.format(port=server.port), timeout=5)
    assert resolver.calls == []
    assert server.connections == 0


def test_keep_alive_reuses_one_checked_connection(server: Recorder) -> None:
    # a second resolution would answer a refused address: the pooled socket must be reused
    resolver = FakeResolver(["127.0.0.1"], ["10.0.0.5"])
    session = safe_session(LOOPBACK, resolve=resolver, user_agent="test")
    url = f"http://service.test:{server.port}/"
    statuses = [session.get(url, timeout=5).status_code for _ in range(2)]
    session.close()
    assert statuses == [200, 200]
    assert len(server.requests) == 2
    assert server.connections == 1
    assert len(resolver.calls) == 1


def test_proxies_from_the_environment_are_ignored(
    server: Recorder, proxy: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = f"http://service.test:{server.port}/"
    with requests.Session() as plain:  # the environment really does send requests to it
        assert plain.get(url, timeout=5).status_code == 200
    assert len(proxy.requests) == 1

    session = safe_session(LOOPBACK, resolve=FakeResolver(["127.0.0.1"]), user_agent="test")
    assert session.get(url, timeout=5).status_code == 200
    session.close()
    assert len(proxy.requests) == 1
    assert len(server.requests) == 1


def test_explicit_proxies_are_refused(proxy: Recorder) -> None:
    session = safe_session(LOOPBACK, resolve=FakeResolver(["127.0.0.1"]), user_agent="test")
    with pytest.raises(AddressRefusedError, match="proxies"):
        session.get(
            "http://service.test/", proxies={"http": f"http://127.0.0.1:{proxy.port}"}, timeout=5
        )
    assert proxy.connections == 0


def test_unresolvable_name_is_a_connection_error() -> None:
    session = safe_session((), resolve=FakeResolver(), user_agent="test")
    with pytest.raises(requests.ConnectionError, match="Failed to resolve"):
        session.get("http://nowhere.test/", timeout=5)


def test_connection_respects_urllib3_socket_settings(server: Recorder) -> None:
    guard = Guard(LOOPBACK, FakeResolver(["127.0.0.1"]))
    conn = GuardedHTTPConnection(
        "service.test", server.port, guard=guard, timeout=3.5, source_address=("127.0.0.2", 0)
    )
    conn.connect()
    try:
        assert conn.sock is not None
        assert conn.sock.getpeername() == ("127.0.0.1", server.port)
        assert conn.sock.getsockname()[0] == "127.0.0.2"
        assert conn.sock.gettimeout() == 3.5
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.close()


def test_connection_tries_each_checked_address_in_order(server: Recorder) -> None:
    # nothing listens on 127.0.0.2 at this port (the server is bound to 127.0.0.1)
    guard = Guard(LOOPBACK, FakeResolver(["127.0.0.2", "127.0.0.1"]))
    conn = GuardedHTTPConnection("service.test", server.port, guard=guard, timeout=3)
    conn.connect()
    try:
        assert conn.sock is not None
        assert conn.sock.getpeername() == ("127.0.0.1", server.port)
    finally:
        conn.close()


# ---------------------------------------------------------------- TLS


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Recorder, Path, list[str | None]]]:
    """An HTTPS server for ``service.test`` (self-signed), and the SNI names it was sent."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=service.test",
         "-addext", "subjectAltName=DNS:service.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _context: names.append(name)
    server = Recorder()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for running in _serve(server):
        yield running, cert, names


def test_tls_verifies_and_sends_sni_for_the_host_name(
    tls_server: tuple[Recorder, Path, list[str | None]],
) -> None:
    server, cert, names = tls_server
    session = safe_session(LOOPBACK, resolve=FakeResolver(["127.0.0.1"]), user_agent="test")
    response = session.get(f"https://service.test:{server.port}/", verify=str(cert), timeout=5)
    session.close()
    assert response.status_code == 200
    assert names == ["service.test"]
    assert server.requests[0]["headers"]["Host"] == f"service.test:{server.port}"


def test_tls_still_refuses_a_certificate_for_another_name(
    tls_server: tuple[Recorder, Path, list[str | None]],
) -> None:
    server, cert, names = tls_server
    session = safe_session(LOOPBACK, resolve=FakeResolver(["127.0.0.1"]), user_agent="test")
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://other.test:{server.port}/", verify=str(cert), timeout=5)
    session.close()
    assert names == ["other.test"]
    assert server.requests == []
