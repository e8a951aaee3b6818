"""Reading what a page sends: list filters from a query string, filter edits, times and
grace periods from forms. Pure; bad input raises :class:`FormError` with a sentence
the page shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from feeds.pages.queries import Cursor, MessageFilter
from feeds.webhooks.records import STATUS_CODES
from feeds.webhooks.spec import SubscriptionChanges, SubscriptionError, parse_subscription
from worker.core.durations import parse_duration

MESSAGE_STATUSES = tuple(STATUS_CODES)
#: Event types a partner can filter its messages by (the article events and the test).
MESSAGE_TYPES = ("article.published", "article.updated", "article.deleted", "webhook.test")
MAX_GRACE = 7 * 86400.0


class FormError(Exception):
    """Input a page cannot use; the message says which field and why."""


class Form:
    """A form or query string as name/value pairs (a name may repeat: checkboxes)."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def get(self, name: str, default: str = "") -> str:
        values = self.all(name)
        return values[-1] if values else default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def message_filter(query: Mapping[str, str]) -> MessageFilter:
    """The filters of the messages page (``status``, ``type``, ``since``, ``until``,
    ``before``); empty fields mean no filter."""
    status = query.get("status") or None
    if status is not None and status not in MESSAGE_STATUSES:
        raise FormError(f"status must be one of {', '.join(MESSAGE_STATUSES)}")
    event_type = query.get("type") or None
    if event_type is not None and event_type not in MESSAGE_TYPES:
        raise FormError(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    before = query.get("before") or None
    return MessageFilter(
        status=status,
        event_type=event_type,
        since=time_field(query.get("since", ""), "since"),
        until=time_field(query.get("until", ""), "until"),
        before=_cursor(before) if before is not None else None,
    )


def _cursor(text: str) -> Cursor:
    """A page link's ``before``: ``<creation time>~<sequence number>``."""
    at, _, seq = text.rpartition("~")
    try:
        created_at = datetime.fromisoformat(at)
    except ValueError:
        created_at = None
    number_ok = seq.isascii() and seq.isdigit() and len(seq) <= 18
    if created_at is None or created_at.tzinfo is None or not number_ok:
        raise FormError("before must come from a page link")
    return Cursor(created_at, int(seq))


def time_field(text: str, name: str) -> float | None:
    """A time from a form: ``2026-01-31T12:00`` (a datetime-local field, read as UTC) or
    with a zone; empty means none."""
    text = text.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormError(f"{name} must be a time such as 2026-01-31T12:00 (UTC)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def filter_changes(form: Form) -> SubscriptionChanges:
    """The event types (checkboxes) and the author and tag filters (comma-separated)."""
    data = {
        "events": form.all("events"),
        "authors": _comma_list(form.get("authors")),
        "tags": _comma_list(form.get("tags")),
    }
    try:
        return parse_subscription(data, creating=False)
    except SubscriptionError as error:
        raise FormError(str(error)) from None


def grace_seconds(text: str) -> float:
    """How long the previous secret keeps signing: a duration such as ``24h`` (at most 7 days)."""
    try:
        grace = parse_duration(text.strip() or "24h")
    except ValueError:
        raise FormError("the grace period must be a duration such as 24h or 30m") from None
    if not 0 <= grace <= MAX_GRACE:
        raise FormError("the grace period must be from 0 to 7 days")
    return grace


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
