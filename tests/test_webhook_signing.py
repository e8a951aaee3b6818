"""Standard Webhooks signatures, verified by the official libraries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from feeds.webhooks.signing import (
    SECRET_PREFIX,
    generate_secret,
    secret_key,
    sign,
    signature_header,
    webhook_headers,
)

BODY = '{"type":"webhook.test","data":{"message":"héllo 😀"}}'.encode()
MESSAGE_ID = "msg_2b3c4d"
KEY = bytes(range(32))
SECRET = SECRET_PREFIX + base64.b64encode(KEY).decode()


def test_generated_secrets_are_prefixed_base64_of_32_random_bytes() -> None:
    secret = generate_secret(lambda n: b"\x01" * n)
    assert secret == SECRET_PREFIX + base64.b64encode(b"\x01" * 32).decode()
    assert secret_key(secret) == b"\x01" * 32
    assert generate_secret() != generate_secret()
    assert len(secret_key(generate_secret())) == 32


def test_the_key_is_the_decoded_secret_with_or_without_prefix_or_padding() -> None:
    assert secret_key(SECRET) == KEY
    assert secret_key(SECRET.removeprefix(SECRET_PREFIX)) == KEY
    assert secret_key(SECRET.rstrip("=")) == KEY


@pytest.mark.parametrize(
    "secret", ["", SECRET_PREFIX, "whsec_not base64!", "whsec_a", "whsec_@@@@"]
)
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        secret_key(secret)


def test_known_answer() -> None:
    timestamp = 1_700_000_000
    content = f"{MESSAGE_ID}.{timestamp}.".encode() + BODY
    expected = base64.b64encode(hmac.new(KEY, content, hashlib.sha256).digest()).decode()
    assert sign(SECRET, MESSAGE_ID, timestamp, BODY) == f"v1,{expected}"


def test_headers() -> None:
    headers = webhook_headers([SECRET], MESSAGE_ID, 1_700_000_000, BODY)
    assert headers == {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign(SECRET, MESSAGE_ID, 1_700_000_000, BODY),
        "content-type": "application/json",
    }


def test_every_secret_signs_during_a_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    value = signature_header([new, old], MESSAGE_ID, 1_700_000_000, BODY)
    assert value.split(" ") == [
        sign(new, MESSAGE_ID, 1_700_000_000, BODY),
        sign(old, MESSAGE_ID, 1_700_000_000, BODY),
    ]


@pytest.mark.parametrize(
    ("message_id", "timestamp"), [("", 1), ("a b", 1), ("a\r\nx: y", 1), ("é", 1), ("ok", -1)]
)
def test_unsafe_ids_and_negative_timestamps_are_refused(message_id: str, timestamp: int) -> None:
    with pytest.raises(ValueError, match=r"message id|timestamp"):
        sign(SECRET, message_id, timestamp, BODY)


def test_no_secret_no_signature() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], MESSAGE_ID, 1, BODY)


def test_the_standard_webhooks_library_verifies_each_secret_of_a_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    headers = webhook_headers([new, old], MESSAGE_ID, int(time.time()), BODY)
    for secret in (new, old):
        assert StandardWebhook(secret).verify(BODY, headers) == {
            "type": "webhook.test",
            "data": {"message": "héllo 😀"},
        }


def test_the_standard_webhooks_library_refuses_tampering_and_wrong_secrets() -> None:
    secret = generate_secret()
    headers = webhook_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(BODY.replace(b"llo", b"lla"), headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(generate_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(BODY, {**headers, "webhook-id": "msg_other"})
    stale = webhook_headers([secret], MESSAGE_ID, int(time.time()) - 3600, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        StandardWebhook(secret).verify(BODY, stale)


def test_svix_verifies_webhook_headers_and_svix_headers() -> None:
    old, new = generate_secret(), generate_secret()
    headers = webhook_headers([new, old], MESSAGE_ID, int(time.time()), BODY)
    svix_headers = {
        "svix-id": headers["webhook-id"],
        "svix-timestamp": headers["webhook-timestamp"],
        "svix-signature": headers["webhook-signature"],
    }
    for secret in (new, old):
        SvixWebhook(secret).verify(BODY, headers)
        SvixWebhook(secret).verify(BODY, svix_headers)


def test_svix_refuses_tampering_and_wrong_secrets() -> None:
    secret = generate_secret()
    headers = webhook_headers([secret], MESSAGE_ID, int(time.time()), BODY)
    with pytest.raises(SvixVerificationError):
        SvixWebhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(SvixVerificationError):
        SvixWebhook(generate_secret()).verify(BODY, headers)
