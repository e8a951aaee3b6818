"""Checking subscription requests (plain data in, plain data out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from worker.core.errors import SyndicateError
from worker.core.normalize import slugify

EVENT_TYPES = ("article.published", "article.updated", "article.deleted")
MAX_URL_CHARS = 2048
MAX_FILTER_ITEMS = 100
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_IN_FLIGHT = 100
MAX_RATE_LIMIT = 10_000
ORDERINGS = ("none", "fifo")
_FIELDS = (
    "url", "events", "authors", "tags", "description", "max_in_flight", "rate_limit", "ordering",
)  # fmt: skip


class SubscriptionError(SyndicateError):
    """A subscription request that cannot be accepted (HTTP 422, CLI exit 2)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class SubscriptionChanges:
    """The checked fields of a create or update request (None: not given)."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    authors: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    description: str | None = None
    max_in_flight: int | None = None
    #: Messages per second; 0 removes the limit.
    rate_limit: int | None = None
    ordering: str | None = None


def parse_subscription(data: object, *, creating: bool) -> SubscriptionChanges:
    """Check a request body; ``url`` is required when creating."""
    if not isinstance(data, Mapping):
        raise SubscriptionError("body", "must be a JSON object")
    unknown = sorted(str(name) for name in data if name not in _FIELDS)
    if unknown:
        raise SubscriptionError(unknown[0], f"unknown field (allowed: {', '.join(_FIELDS)})")
    if creating and "url" not in data:
        raise SubscriptionError("url", "is required")
    return SubscriptionChanges(
        url=_url(data["url"]) if "url" in data else None,
        events=_events(data["events"]) if "events" in data else None,
        authors=_names("authors", data["authors"]) if "authors" in data else None,
        tags=_names("tags", data["tags"]) if "tags" in data else None,
        description=_description(data["description"]) if "description" in data else None,
        max_in_flight=_cap(data["max_in_flight"]) if "max_in_flight" in data else None,
        rate_limit=_rate(data["rate_limit"]) if "rate_limit" in data else None,
        ordering=_ordering(data["ordering"]) if "ordering" in data else None,
    )


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SubscriptionError("url", "must be a non-empty string")
    url = value.strip()
    if len(url) > MAX_URL_CHARS:
        raise SubscriptionError("url", f"must be at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise SubscriptionError("url", f"is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise SubscriptionError("url", "must be an http or https URL")
    if not parts.hostname:
        raise SubscriptionError("url", "has no host")
    if any(ord(c) < 33 for c in url):
        raise SubscriptionError("url", "must not contain spaces or control characters")
    return url


def _events(value: object) -> tuple[str, ...]:
    if value is None:
        return EVENT_TYPES
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SubscriptionError("events", "must be a list of event types")
    unknown = [item for item in value if item not in EVENT_TYPES]
    if unknown:
        raise SubscriptionError(
            "events", f"unknown event type {unknown[0]!r} (known: {', '.join(EVENT_TYPES)})"
        )
    if not value:
        raise SubscriptionError("events", "must name at least one event type")
    return tuple(event for event in EVENT_TYPES if event in value)


def _names(field: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SubscriptionError(field, "must be a list of strings")
    if len(value) > MAX_FILTER_ITEMS:
        raise SubscriptionError(field, f"must have at most {MAX_FILTER_ITEMS} items")
    names = tuple(dict.fromkeys(item.strip() for item in value if item.strip()))
    for name in names:
        if len(name) > MAX_NAME_CHARS or not slugify(name):
            raise SubscriptionError(field, f"{name[:40]!r} is not a usable name")
    return names


def _description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_CHARS:
        raise SubscriptionError(
            "description", f"must be a string of at most {MAX_DESCRIPTION_CHARS} characters"
        )
    return value.strip()


def _cap(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_IN_FLIGHT:
        raise SubscriptionError("max_in_flight", f"must be an integer from 1 to {MAX_IN_FLIGHT}")
    return value


def _rate(value: object) -> int:
    """Messages per second, or 0 for none (JSON null or 0)."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RATE_LIMIT:
        raise SubscriptionError(
            "rate_limit", f"must be null (no limit) or an integer from 1 to {MAX_RATE_LIMIT}"
        )
    return value


def _ordering(value: object) -> str:
    if value not in ORDERINGS:
        raise SubscriptionError("ordering", f"must be one of: {', '.join(ORDERINGS)}")
    return str(value)


def matches(
    events: tuple[str, ...],
    authors: tuple[str, ...],
    tags: tuple[str, ...],
    *,
    event_type: str,
    article_authors: tuple[str, ...],
    article_tags: tuple[str, ...],
) -> bool:
    """Whether an event passes an endpoint's filters.

    Names compare by slug ("Jane Doe" matches "jane-doe"); with both filters set, the
    article must match one of the authors *and* one of the tags."""
    if event_type not in events:
        return False
    if authors and not {slugify(a) for a in authors} & {slugify(a) for a in article_authors}:
        return False
    return not tags or bool({slugify(t) for t in tags} & {slugify(t) for t in article_tags})
