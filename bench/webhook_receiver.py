"""The partner side of ``bench/webhook_fanout.py``: a minimal ASGI app counting webhooks.

Runs in its own process: ``uvicorn --factory bench.webhook_receiver:receiver_app``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

SAMPLE_EVERY = 250  # the receiver keeps the last request of every 250th path
#: How long a black hole keeps a request without answering.
BLACK_HOLE_SECONDS = 3600.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """Counts webhook requests; ``POST /ep/{i}`` waits ``delay`` seconds, then answers 204.

    ``GET /count`` (counters), ``GET /times`` (completion times), ``GET /samples``,
    ``POST /delay`` ({"delay": seconds}), ``POST /holes`` ({"count": n}: the first n
    endpoints never answer, black holes) and ``POST /reset``. Times are
    ``time.monotonic()``, which is system-wide on Linux: comparable with the bench's."""

    def __init__(self) -> None:
        self.delay = 0.05
        self.holes = 0  # /ep/0 .. /ep/{holes - 1} never answer
        self.hanging = 0  # black-hole requests held now (not reset: they outlive a run)
        self.reset()

    def reset(self) -> None:
        self.begun = 0
        self.swallowed = 0
        self.done = 0
        self.unsigned = 0
        self.in_flight = 0
        self.peak = 0
        self.ids: set[str] = set()
        self.paths: set[str] = set()
        self.times: list[float] = []
        self.samples: dict[str, dict[str, str]] = {}

    def state(self) -> dict[str, Any]:
        return {
            "begun": self.begun,
            "swallowed": self.swallowed,
            "hanging": self.hanging,
            "done": self.done,
            "ids": len(self.ids),
            "paths": len(self.paths),
            "unsigned": self.unsigned,
            "in_flight": self.in_flight,
            "peak": self.peak,
            "first": self.times[0] if self.times else None,
            "last": self.times[-1] if self.times else None,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.startswith("/ep/"):
            await self.webhook(scope, path, bytes(body), send)
        elif method == "GET" and path == "/count":
            await _answer_json(send, self.state())
        elif method == "GET" and path == "/times":
            await _answer_json(send, self.times)
        elif method == "GET" and path == "/samples":
            await _answer_json(send, self.samples)
        elif method == "POST" and path == "/delay":
            self.delay = float(json.loads(body)["delay"])
            await _answer_json(send, {"delay": self.delay})
        elif method == "POST" and path == "/holes":
            self.holes = int(json.loads(body)["count"])
            await _answer_json(send, {"holes": self.holes})
        elif method == "POST" and path == "/reset":
            self.reset()
            await _answer_json(send, self.state())
        else:
            await _answer(send, 404, b"")

    async def webhook(self, scope: Scope, path: str, body: bytes, send: Send) -> None:
        index = path.removeprefix("/ep/")
        if index.isdigit() and int(index) < self.holes:
            self.swallowed += 1
            self.hanging += 1
            try:
                await asyncio.sleep(BLACK_HOLE_SECONDS)
            finally:
                self.hanging -= 1
            return
        self.begun += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        message_id = headers.get("webhook-id")
        if message_id is None or "webhook-signature" not in headers:
            self.unsigned += 1
        else:
            self.ids.add(message_id)
        self.paths.add(path)
        if index.isdigit() and int(index) % SAMPLE_EVERY == 0:
            self.samples[path] = {
                "body": body.decode("utf-8", "replace"),
                **{k: v for k, v in headers.items() if k.startswith("webhook-")},
            }
        self.done += 1
        self.times.append(time.monotonic())
        await _answer(send, 204, b"")


async def _answer(send: Send, status: int, body: bytes, kind: bytes = b"text/plain") -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer_json(send: Send, document: object) -> None:
    await _answer(send, 200, json.dumps(document).encode(), b"application/json")


def receiver_app() -> Receiver:
    """The uvicorn factory."""
    return Receiver()


async def concurrent_posts(port: int, count: int) -> tuple[float, int]:
    """``count`` connections at once, one POST each; (seconds, how many answered 204)."""
    request = b"POST /ep/check HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n\r\n{}"

    async def one() -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        writer.close()
        return line.startswith(b"HTTP/1.1 204")

    started = time.perf_counter()
    answers = await asyncio.gather(*[one() for _ in range(count)])
    return time.perf_counter() - started, sum(answers)
