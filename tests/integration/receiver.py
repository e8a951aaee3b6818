"""A real HTTP receiver on 127.0.0.1 for webhook tests: every path can behave differently.

Behaviours (set per path with :meth:`Receiver.behave`): ``ok`` (204), ``fail:N`` (500 for
the first N requests, then 204), ``always:STATUS``, ``slow:SECONDS`` (wait, then 204),
``retry-after:SECONDS`` (429 with Retry-After on the first request, then 204),
``redirect`` (301 to ``/redirected``), ``hold:SECONDS`` (first request waits, later
ones answer at once), ``once-each`` (500 for the first request of each ``webhook-id``,
then 204). Every request is recorded with its headers and body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0
    begun: float = 0.0


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    behaviours: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # requests begun, per path
    begun_at: dict[str, list[float]] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str, behaviour: str = "ok") -> str:
        self.behave(path, behaviour)
        return self.base + path

    def behave(self, path: str, behaviour: str) -> None:
        with self.lock:
            self.behaviours[path] = behaviour

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def begun(self, path: str) -> int:
        """Requests to ``path`` that have started (answered or not)."""
        with self.lock:
            return self.counts.get(path, 0)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            begun = time.time()
            count = self.counts.get(path, 0) + 1
            self.counts[path] = count
            self.begun_at.setdefault(path, []).append(begun)
            behaviour = self.behaviours.get(path, "ok")
            message_id = headers.get("webhook-id", "")
            first_of_message = message_id not in self.seen_ids
            self.seen_ids.add(message_id)
        kind, _, argument = behaviour.partition(":")
        status, extra = 204, {}
        if (kind == "fail" and count <= int(argument)) or (
            kind == "once-each" and first_of_message
        ):
            status = 500
        elif kind == "always":
            status = int(argument)
        elif kind == "slow" or (kind == "hold" and count == 1):
            time.sleep(float(argument))
        elif kind == "retry-after" and count == 1:
            status, extra = 429, {"Retry-After": argument}
        elif kind == "redirect":
            status, extra = 301, {"Location": self.base + "/redirected"}
        with self.lock:
            self.requests.append(Received(path, headers, body, time.time(), status, begun))
        return status, extra


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender died mid-request (a killed worker): nothing was delivered.
                self.close_connection = True
                return
            status, extra = receiver.answer(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    # The default backlog (5) refuses or stalls connections when tens of attempts arrive
    # at once, which the sender then sees as timeouts the receiver never answered.
    request_queue_size = 128


@contextmanager
def running_receiver(port: int = 0) -> Iterator[Receiver]:
    """A receiver on ``port`` (default: any free port) until the block ends."""
    server = _Server(("127.0.0.1", port), BaseHTTPRequestHandler)
    server.daemon_threads = True
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
