"""``syndicate subscriptions listen``: a development receiver that verifies what it gets.

It subscribes itself, sends itself a ``webhook.test`` message, and prints one line per
message: verified (signature and timestamp, as the Standard Webhooks libraries check
them) or not. The subscription is deleted when it stops.
"""

from __future__ import annotations

import hmac
import json
import signal
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NoReturn

import click

from feeds.addresses import AddressRefusedError
from feeds.webhooks.service import Webhooks
from feeds.webhooks.signing import sign
from feeds.webhooks.spec import parse_subscription

TOLERANCE = 300  # seconds, as the Standard Webhooks libraries
MAX_BODY = 1024 * 1024


def verify(secrets: list[str], headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """None if the message is authentic and fresh, else what is wrong with it."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (message_id and stamp.isdigit() and signatures):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if abs(now - int(stamp)) > TOLERANCE:
        return "timestamp outside the 5-minute tolerance"
    for secret in secrets:
        expected = sign(secret, message_id, int(stamp), body)
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return None
    return "no signature matches the secret"


def describe(body: bytes) -> str:
    try:
        payload = json.loads(body)
        data = payload.get("data", {})
        if payload.get("type") == "webhook.test":
            return "webhook.test"
        return f"{payload['type']} {data.get('id')} v{data.get('version')}: {data.get('title')}"
    except (ValueError, KeyError, AttributeError, TypeError):
        return f"{len(body)} bytes that are not a syndicate payload"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(
    webhooks: Webhooks,
    *,
    host: str,
    port: int,
    wake: Callable[[], None],
    fail: Callable[[str], NoReturn],
) -> None:
    secrets: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("content-length") or 0), MAX_BODY)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            problem = verify(secrets, headers, body, time.time())
            mark = "✔ verified" if problem is None else f"✘ REJECTED ({problem})"
            click.echo(f"{time.strftime('%H:%M:%S')} {mark} {headers.get('webhook-id')} "
                       f"{describe(body)}")  # fmt: skip
            self.send_response(204 if problem is None else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error}")
    url = f"http://{host}:{server.server_address[1]}/"
    changes = parse_subscription({"url": url, "description": "syndicate subscriptions listen"},
                                 creating=True)  # fmt: skip
    try:
        endpoint, secret = webhooks.subscribe(changes)
    except AddressRefusedError as error:
        server.server_close()
        fail(f"{error}; allow it with SYNDICATE_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8")
    secrets.append(secret)
    click.echo(f"listening on {url} as {endpoint.id} (every event); Ctrl-C stops")
    webhooks.send_test(endpoint.id)
    wake()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        webhooks.delete(endpoint.id)
        click.echo(f"\n{endpoint.id} unsubscribed")
