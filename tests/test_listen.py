"""The development receiver's check: the same rules as the Standard Webhooks libraries."""

from __future__ import annotations

from feeds.webhooks.signing import generate_secret, webhook_headers
from worker.listen import describe, verify

NOW = 1_800_000_000


def test_a_signed_fresh_message_verifies_and_anything_else_does_not() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"type":"webhook.test","timestamp":"x","data":{}}'
    headers = webhook_headers([new, old], "msg_1", NOW, body)
    assert verify([old], headers, body, NOW + 10) is None
    assert verify([new], headers, body, NOW + 10) is None
    assert verify([generate_secret()], headers, body, NOW) == "no signature matches the secret"
    assert verify([old], headers, body + b" ", NOW) == "no signature matches the secret"
    assert verify([old], headers, body, NOW + 301) == "timestamp outside the 5-minute tolerance"
    assert verify([old], {}, body, NOW).startswith("missing")


def test_describe_names_the_event() -> None:
    body = b'{"type":"article.published","data":{"id":"a","version":2,"title":"T"}}'
    assert describe(body) == "article.published a v2: T"
    assert describe(b"\xff") == "1 bytes that are not a syndicate payload"
