"""Signed, expiring, scoped tokens for the portal and the dashboard, and CSRF tokens.

Pure: plain functions over a key and plain values; the key itself comes from
:mod:`feeds.pages.keys`.

A token is ``v1.<payload>.<mac>``: the payload is base64url JSON ``{"s": scope,
"sub": subject, "exp": expiry}`` (and ``"n"``, a display name, when there is one)
and the mac an HMAC-SHA256 of ``v1.<payload>`` under the signing key. A portal link's
expiry is chosen when it is made (``--ttl``) and must be signed into it, which is why
this is an HMAC of our own over the standard library rather than itsdangerous' timed
serializer (whose expiry is a ``max_age`` the verifier must know). Rotating the key
revokes every token made with the old one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

Scope = Literal["portal", "operator"]
_VERSION = "v1"
#: Longer than any sensible link; a typo of "24h" as "24000d" is refused.
MAX_TTL = 90 * 86400.0


class TokenError(Exception):
    """A token that is malformed, forged, of another scope or expired."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token allows: ``subject`` (endpoint ids joined by commas, an operator)
    until ``expires``; ``name`` is what the pages call its holder (a partner's name)."""

    scope: Scope
    subject: str
    expires: float
    name: str = ""


def sign(key: bytes, grant: Grant) -> str:
    """The token for ``grant``."""
    payload: dict[str, object] = {
        "s": grant.scope,
        "sub": grant.subject,
        "exp": round(grant.expires, 3),
    }
    if grant.name:
        payload["n"] = grant.name
    encoded = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{encoded}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def verify(key: bytes, token: str, *, scope: Scope, now: float) -> Grant:
    """The grant of a genuine, unexpired token of ``scope``; else :class:`TokenError`."""
    version, _, rest = token.partition(".")
    encoded, _, mac = rest.partition(".")
    if version != _VERSION or not encoded or not mac:
        raise TokenError("the token is malformed")
    try:
        presented = _unb64(mac)
        payload = json.loads(_unb64(encoded))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenError("the token is malformed") from None
    if not hmac.compare_digest(presented, _mac(key, f"{version}.{encoded}")):
        raise TokenError("the token is not valid (forged, or signed with a key since rotated)")
    if not isinstance(payload, dict):
        raise TokenError("the token is malformed")
    subject, expires, name = payload.get("sub"), payload.get("exp"), payload.get("n", "")
    if payload.get("s") != scope or not isinstance(subject, str) or not isinstance(name, str):
        raise TokenError(f"the token is not for the {scope} pages")
    if not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= now:
        raise TokenError("the token has expired")
    return Grant(scope, subject, float(expires), name)


def csrf_token(key: bytes, session: str) -> str:
    """The CSRF token of a session: bound to it, so a token of one session fails another."""
    return _b64(hmac.new(key, b"csrf\x00" + session.encode(), hashlib.sha256).digest())


def csrf_matches(key: bytes, session: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(key, session).encode(), presented.encode())


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for an API token (an operator session names the token
    it was opened with, so removing the token from the settings closes the session)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
