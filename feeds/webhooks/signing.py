"""Standard Webhooks (v1) signatures: secrets, the signed content and the headers.

A secret is ``whsec_`` followed by the standard base64 of random bytes; the key is
those bytes. A message is signed as::

    v1,<base64 of HMAC-SHA256(key, "<message id>.<timestamp>.<body>")>

and ``webhook-signature`` carries one such signature per active secret, separated by
spaces, so that during a rotation receivers holding either the new or the old secret
can verify. The official ``standardwebhooks`` and ``svix`` libraries verify these.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"  # noqa: S105 (the public prefix, not a secret)
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


def generate_secret(random_bytes: Callable[[int], bytes] = token_bytes) -> str:
    """A new secret: ``whsec_`` + the standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret (prefix optional); :class:`ValueError` if malformed."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"a webhook secret is {SECRET_PREFIX}<base64>: {error}") from None
    if not key:
        raise ValueError("a webhook secret cannot be empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one message with one secret."""
    _check_message(message_id, timestamp)
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: every secret's signature, space-separated."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign a message")
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)


def webhook_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one delivery: id, timestamp, signature and content type."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, message_id, timestamp, body),
        "content-type": "application/json",
    }


def _check_message(message_id: str, timestamp: int) -> None:
    """Ids must be safe header values; timestamps whole non-negative seconds."""
    if not message_id or not all("!" <= char <= "~" for char in message_id):
        raise ValueError(f"a message id is printable ASCII without spaces, got {message_id!r}")
    if timestamp < 0:
        raise ValueError(f"a timestamp is whole seconds since the epoch, got {timestamp!r}")
