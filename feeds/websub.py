"""The built-in WebSub hub (W3C WebSub Recommendation) for syndicate's own feeds.

    POST /websub  hub.mode=subscribe|unsubscribe, hub.topic, hub.callback,
                  hub.secret (optional), hub.lease_seconds (optional)

* The request is checked (topic must be one of our feeds, callback http(s) and allowed
  by the address rules of :mod:`feeds.addresses`), answered ``202 Accepted``, and the
  intent is verified asynchronously: a GET to the callback (its own query parameters
  kept) with ``hub.mode``, ``hub.topic``, ``hub.challenge`` and ``hub.lease_seconds``;
  only a 2xx whose body is exactly the challenge confirms it.
* A subscription to an unknown topic is denied with a GET carrying ``hub.mode=denied``.
* Leases default to 10 days, are bounded to 1 hour – 30 days, and expire.
* When a feed document changes, the hub POSTs the new document to each subscriber
  with ``Link`` headers (``rel=hub``, ``rel=self``) and, with a secret,
  ``X-Hub-Signature: sha256=<HMAC of the body>``. 410 removes the subscription;
  other failures are retried a few times with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from config.settings import Settings
from feeds import feed_store
from feeds.addresses import AddressRefusedError, check_url, parse_networks
from feeds.safe_http import ThreadSessions
from worker.store import Store

log = logging.getLogger(__name__)

DEFAULT_LEASE = 10 * 24 * 3600
MIN_LEASE = 3600
MAX_LEASE = 30 * 24 * 3600
MAX_SECRET_BYTES = 199
USER_AGENT = "syndicate-websub/0.1"


class HubRequestError(ValueError):
    """A hub request that cannot be accepted (answered 400 with this message)."""


@dataclass(frozen=True, slots=True)
class HubRequest:
    """A checked subscribe or unsubscribe request."""

    mode: str
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int


def parse_hub_request(form: Mapping[str, str]) -> HubRequest:
    """Check the form fields of a hub request."""
    mode = form.get("hub.mode", "")
    if mode not in ("subscribe", "unsubscribe"):
        raise HubRequestError("hub.mode must be subscribe or unsubscribe")
    topic, callback = form.get("hub.topic", ""), form.get("hub.callback", "")
    if not topic or not callback:
        raise HubRequestError("hub.topic and hub.callback are required")
    secret = form.get("hub.secret") or None
    if secret is not None and len(secret.encode()) > MAX_SECRET_BYTES:
        raise HubRequestError("hub.secret must be under 200 bytes")
    return HubRequest(mode, topic, callback, secret, lease_for(form.get("hub.lease_seconds")))


def lease_for(requested: str | None) -> int:
    """The lease granted: the default when none is asked, else bounded."""
    if not requested:
        return DEFAULT_LEASE
    try:
        seconds = int(requested)
    except ValueError:
        raise HubRequestError("hub.lease_seconds must be a whole number") from None
    return max(MIN_LEASE, min(MAX_LEASE, seconds))


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def with_query(url: str, parameters: Mapping[str, str]) -> str:
    """``url`` with ``parameters`` added to the query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(parameters.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class Hub:
    """Subscriptions in Redis and the HTTP calls of the hub."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.allowed = parse_networks(settings.allowed_networks)
        self._sessions = ThreadSessions(self.allowed, user_agent=USER_AGENT)

    @property
    def session(self) -> requests.Session:
        """This thread's pooled session; it applies the address rules to every connection."""
        return self._sessions.get()

    def topic_path(self, topic: str) -> str | None:
        """The document path of one of our topics, or None for anything else."""
        if not topic.startswith(self.settings.feeds_url):
            return None
        path = topic.removeprefix(self.settings.feeds_url)
        return path if feed_store.document_exists(self.store.db, path) else None

    def check_callback(self, callback: str) -> None:
        """Refuse callbacks the address rules do not allow (raises HubRequestError)."""
        try:
            check_url(callback, self.allowed)
        except AddressRefusedError as error:
            raise HubRequestError(f"hub.callback is not allowed: {error}") from None

    def verify(self, request: HubRequest) -> bool:
        """Verify intent (or deny an unknown topic); store the outcome. True if confirmed."""
        path = self.topic_path(request.topic)
        if path is None:
            self._get(request.callback, {"hub.mode": "denied", "hub.topic": request.topic,
                                         "hub.reason": "unknown topic"})  # fmt: skip
            return False
        challenge = secrets.token_urlsafe(24)
        response = self._get(request.callback, {
            "hub.mode": request.mode, "hub.topic": request.topic,
            "hub.challenge": challenge, "hub.lease_seconds": str(request.lease_seconds),
        })  # fmt: skip
        confirmed = (
            response is not None and 200 <= response.status_code < 300
            and response.content[:1024].decode("utf-8", "replace") == challenge
        )  # fmt: skip
        if not confirmed:
            log.info(
                "websub: %s of %s not confirmed by the subscriber", request.mode, request.callback
            )
            return False
        if request.mode == "subscribe":
            expires = datetime.fromtimestamp(time.time() + request.lease_seconds, UTC)
            with self.store.db.connection() as conn:
                conn.execute(
                    "INSERT INTO websub_subscriptions (path, callback, secret, expires_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (path, callback) DO UPDATE "
                    "SET secret = EXCLUDED.secret, expires_at = EXCLUDED.expires_at",
                    (path, request.callback, request.secret, expires),
                )
        else:
            self._remove(path, request.callback)
        return True

    def subscribers(self, path: str) -> dict[str, str | None]:
        """Live subscribers of a document (callback -> secret); expired leases are dropped."""
        with self.store.db.connection() as conn:
            conn.execute(
                "DELETE FROM websub_subscriptions WHERE path = %s AND expires_at <= now()", (path,)
            )
            rows = conn.execute(
                "SELECT callback, secret FROM websub_subscriptions WHERE path = %s", (path,)
            ).fetchall()
        return {str(callback): secret for callback, secret in rows}

    def subscriptions(self, paths: list[str]) -> list[tuple[str, str]]:
        """(path, callback) of every live subscription to any of ``paths``, in two
        statements however many paths; expired leases are dropped."""
        with self.store.db.connection() as conn:
            conn.execute(
                "DELETE FROM websub_subscriptions WHERE path = ANY(%s) AND expires_at <= now()",
                (paths,),
            )
            rows = conn.execute(
                "SELECT path, callback FROM websub_subscriptions WHERE path = ANY(%s) "
                "ORDER BY path, callback",
                (paths,),
            ).fetchall()
        return [(str(path), str(callback)) for path, callback in rows]

    def leases(self, path: str) -> dict[str, float]:
        """Callback -> lease expiry (seconds since the epoch) of a document's subscribers."""
        with self.store.db.connection() as conn:
            rows = conn.execute(
                "SELECT callback, expires_at FROM websub_subscriptions WHERE path = %s", (path,)
            ).fetchall()
        return {str(callback): expires.timestamp() for callback, expires in rows}

    def _remove(self, path: str, callback: str) -> None:
        with self.store.db.connection() as conn:
            conn.execute(
                "DELETE FROM websub_subscriptions WHERE path = %s AND callback = %s",
                (path, callback),
            )

    def distribute(self, path: str, callback: str, body: bytes, media_type: str) -> str:
        """POST a document to one subscriber: "delivered", "removed" or "failed"."""
        subscribers = self.subscribers(path)
        if callback not in subscribers:
            return "removed"  # unsubscribed or expired since the delivery was queued
        secret = subscribers[callback]
        headers = {
            "Content-Type": media_type,
            "Link": f'<{self.settings.hub_url}>; rel="hub", '
                    f'<{self.settings.feeds_url}{path}>; rel="self"',
        }  # fmt: skip
        if secret:
            headers["X-Hub-Signature"] = signature(secret, body)
        try:
            self.check_callback(callback)
            response = self.session.post(
                callback, data=body, headers=headers, timeout=(5, 15), allow_redirects=False
            )
        except (requests.RequestException, HubRequestError, AddressRefusedError) as error:
            log.warning("websub: delivery of %s to %s failed: %s", path, callback, error)
            return "failed"
        if response.status_code == 410:
            self._remove(path, callback)
            log.info("websub: %s answered 410; subscription removed", callback)
            return "removed"
        return "delivered" if 200 <= response.status_code < 300 else "failed"

    def _get(self, callback: str, parameters: Mapping[str, str]) -> requests.Response | None:
        try:
            self.check_callback(callback)
            return self.session.get(
                with_query(callback, parameters), timeout=(5, 15), allow_redirects=False
            )
        except (requests.RequestException, HubRequestError, AddressRefusedError) as error:
            log.info("websub: GET %s failed: %s", callback, error)
            return None
