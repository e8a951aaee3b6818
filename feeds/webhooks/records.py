"""What the webhook store holds, as plain values: endpoints, messages, attempts, and ids.

No I/O here: :mod:`feeds.webhooks.store` reads and writes these in PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

MessageStatus = Literal["scheduled", "queued", "delivered", "dead", "held"]
FinishKind = Literal["delivered", "retry", "dead", "disable", "hold"]
PENDING_STATUSES = ("scheduled", "queued")
#: Statuses a message stays in until an operator (or an enabled endpoint) replays it;
#: retention trims them.
FINISHED_STATUSES = ("delivered", "dead", "held")
RESPONSE_KEEP_BYTES = 2048
#: How a status is stored (one character, see ``0003_compact_messages.sql``).
STATUS_CODES: dict[str, str] = {
    "scheduled": "s", "queued": "q", "delivered": "d", "dead": "x", "held": "h",
}  # fmt: skip
STATUS_NAMES: dict[str, MessageStatus] = {
    "s": "scheduled", "q": "queued", "d": "delivered", "x": "dead", "h": "held",
}  # fmt: skip
#: How the outcome of a message's latest attempt is stored (the log keeps the name).
OUTCOME_CODES: dict[str, str] = {
    "delivered": "d", "retry": "r", "dead": "x", "disable": "o", "hold": "h",
}  # fmt: skip
OUTCOME_NAMES = {code: name for name, code in OUTCOME_CODES.items()}


@dataclass(frozen=True, slots=True)
class Secret:
    """A signing secret; ``expires`` is set on a secret replaced by rotation."""

    value: str
    expires: float | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """What a dispatch needs of an endpoint: which events it hears, and since when."""

    id: str
    created_at: float
    events: tuple[str, ...]
    authors: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A subscribed webhook endpoint."""

    id: str
    url: str
    events: tuple[str, ...]
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    max_in_flight: int = 1
    rate_limit: int | None = None  # messages per second
    ordering: str = "none"  # or "fifo"
    failing_since: float | None = None
    last_success_at: float | None = None
    last_failure_at: float | None = None
    secrets: tuple[Secret, ...] = ()

    def live_secrets(self, now: float) -> list[str]:
        """The secrets that sign a message sent at ``now`` (newest first)."""
        return [s.value for s in self.secrets if s.expires is None or s.expires > now]

    def public(self, now: float) -> dict[str, Any]:
        """The endpoint as shown to clients: everything but the secrets."""
        previous = [s.expires for s in self.secrets if s.expires is not None and s.expires > now]
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "authors": list(self.authors),
            "tags": list(self.tags),
            "description": self.description,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "disabled_at": self.disabled_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "max_in_flight": self.max_in_flight,
            "rate_limit": self.rate_limit,
            "ordering": self.ordering,
            "failing_since": self.failing_since,
            "last_success_at": self.last_success_at,
            "last_failure_at": self.last_failure_at,
            "previous_secret_expires": max(previous) if previous else None,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt: when it was sent, what came back, and the verdict.

    ``response`` is at most the first :data:`RESPONSE_KEEP_BYTES` of the response body;
    ``status`` is None when no response came (``error`` says why).
    """

    at: float
    status: int | None
    latency_ms: float
    outcome: str
    response: str = ""
    error: str | None = None
    reason: str = ""
    next_due: float | None = None

    def public(self, number: int) -> dict[str, Any]:
        """The attempt as the message's ``attempt_log`` shows it."""
        return {
            "attempt": number,
            "at": iso(self.at),
            "status": self.status,
            "latency_ms": self.latency_ms,
            "response": self.response,
            "error": self.error,
            "outcome": self.outcome,
            "reason": self.reason,
            "next_due": iso(self.next_due) if self.next_due is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one endpoint, with its delivery state.

    ``body`` is the payload; it is empty in listings (:meth:`WebhookStore.messages`)
    and loaded for one message (:meth:`WebhookStore.message`).
    """

    id: str
    endpoint: str
    type: str
    created_at: float
    body: bytes
    status: str
    article_id: str = ""
    version: int = 0
    attempts: int = 0
    round_attempts: int = 0
    token: int = 0
    next_due: float | None = None
    delivered_at: float | None = None
    dead_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    attempt_log: list[dict[str, Any]] = field(default_factory=list)

    def public(self, *, with_body: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "endpoint": self.endpoint,
            "type": self.type,
            "article_id": self.article_id or None,
            "version": self.version or None,
            "status": self.status,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "next_due": self.next_due if self.status in PENDING_STATUSES else None,
            "delivered_at": self.delivered_at,
            "dead_at": self.dead_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }
        if with_body:
            shown["payload"] = json.loads(self.body)
            shown["attempt_log"] = self.attempt_log
        return shown


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to create. Messages of one article event share one stored payload
    (keyed by article, version and type); a message without an article (a test) has
    its own."""

    id: str
    endpoint: str
    type: str
    body: bytes
    article_id: str = ""
    version: int = 0


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def new_message_id() -> str:
    return "msg_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def event_message_id(endpoint_id: str, event_type: str, article_id: str, version: int) -> str:
    """The id of the message for one article version and endpoint: the same every time,
    so dispatching an event twice creates one message."""
    digest = hashlib.sha256(f"{endpoint_id}\n{event_type}\n{article_id}\n{version}".encode())
    return "msg_" + base64.b32encode(digest.digest()[:15]).decode().lower()


def iso(timestamp: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC with milliseconds (the attempt log's form)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
