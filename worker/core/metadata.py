"""Interpretation of metadata entries into typed fields.

Keys are matched case-insensitively, with ``_``/``-`` read as spaces, against the
aliases below. A value that cannot be read as its type (``Rating: great``) is kept
as text in ``Metadata.extra`` with a warning, so nothing the sender wrote is lost.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from worker.core.draft import MetaEntry, MetaValue
from worker.core.errors import ParseWarning
from worker.core.model import Metadata, Rating
from worker.core.normalize import clean_inline

_ALIASES: dict[str, str] = {
    **dict.fromkeys(["release year", "year", "released"], "release_year"),
    **dict.fromkeys(["rating", "score"], "rating"),
    **dict.fromkeys(["author", "authors", "by", "written by", "writer"], "authors"),
    **dict.fromkeys(["tags", "tag", "categories", "category", "keywords", "topics"], "tags"),
    **dict.fromkeys(
        ["published", "date", "published at", "pubdate", "date published", "publish date"],
        "published",
    ),
    **dict.fromkeys(
        ["updated", "modified", "last updated", "updated at", "date modified", "last modified"],
        "updated",
    ),
    **dict.fromkeys(["url", "link", "canonical", "canonical url", "permalink"], "url"),
    **dict.fromkeys(["language", "lang", "locale"], "language"),
    **dict.fromkeys(["description", "subtitle", "excerpt", "dek"], "description"),
    "id": "id",
    "slug": "slug",
    "title": "title",
}

_KEY_SPACES = re.compile(r"[\s_-]+")
_LIST_SEPARATORS = re.compile(r"\s*(?:[,;]|\s+and\s+|\s+&\s+)\s*")
_TAG_SEPARATORS = re.compile(r"\s*[,;]\s*")
_RATING = re.compile(
    r"^(?P<value>[+-]?\d+(?:[.,]\d+)?)\s*(?:(?P<percent>%)|(?:/|out of|of)\s*"
    r"(?P<scale>\d+(?:[.,]\d+)?))?(?:\s*(?:stars?|points?))?$",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?P<year>\d{4})(?:\b.*)?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%B %Y")
_YEAR_RANGE = range(1800, 2201)


def canonical_key(key: str) -> str | None:
    """The field a metadata key stands for, or ``None`` for an unknown key."""
    return _ALIASES.get(_KEY_SPACES.sub(" ", key.strip()).casefold())


def is_known_key(key: str) -> bool:
    """Whether ``key`` names one of the typed fields."""
    return canonical_key(key) is not None


@dataclass(slots=True)
class Fields:
    """Typed fields read from metadata entries."""

    metadata: Metadata = field(default_factory=Metadata)
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    url: str | None = None
    language: str | None = None
    id: str | None = None
    slug: str | None = None
    title: str | None = None
    description: str | None = None
    warnings: list[ParseWarning] = field(default_factory=list)


def interpret(entries: list[MetaEntry]) -> Fields:
    """Read typed fields from metadata entries; unknown keys land in ``metadata.extra``."""
    fields = Fields()
    release_year: int | None = None
    rating: Rating | None = None
    extra: dict[str, str] = {}
    for entry in entries:
        name = canonical_key(entry.key)
        if name is None:
            extra[entry.key.strip()] = as_text(entry.value)
            continue
        try:
            if name == "release_year":
                release_year = read_year(entry.value)
            elif name == "rating":
                rating = read_rating(entry.value)
            else:
                _set_field(fields, name, entry.value)
        except ValueError as error:
            fields.warnings.append(
                ParseWarning(
                    "bad_metadata_value", f"{entry.key}: {error}; kept as text", entry.line
                )
            )
            extra[entry.key.strip()] = as_text(entry.value)
    fields.metadata = Metadata(release_year=release_year, rating=rating, extra=extra)
    return fields


def _set_field(fields: Fields, name: str, value: MetaValue) -> None:
    if name == "authors":
        fields.authors.extend(read_list(value, _LIST_SEPARATORS))
    elif name == "tags":
        fields.tags.extend(read_list(value, _TAG_SEPARATORS))
    elif name in ("published", "updated"):
        setattr(fields, name, read_datetime(value))
    elif name == "url":
        fields.url = read_url(value)
    elif name == "language":
        fields.language = read_language(value)
    else:
        setattr(fields, name, as_text(value))


def as_text(value: MetaValue) -> str:
    """A metadata value as the text a reader would expect."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value)  # type: ignore[arg-type]
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def read_year(value: MetaValue) -> int:
    """A release year from ``2021``, ``"2021"`` or a date such as ``"2021-05-01"``."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not a year")
    if isinstance(value, int | float):
        year = int(value)
    else:
        found = _YEAR.match(as_text(value).strip())
        if found is None:
            raise ValueError("not a year")
        year = int(found["year"])
    if year not in _YEAR_RANGE:
        raise ValueError(f"year {year} is out of range")
    return year


def read_rating(value: MetaValue) -> Rating:
    """A rating from ``"6.785/10"``, ``"4 out of 5"``, ``"85%"``, ``8.5`` or ``{value, scale}``."""
    if isinstance(value, dict):
        return _checked_rating(_number(value.get("value")), _number(value.get("scale", 10)))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _checked_rating(float(value), 10.0 if value <= 10 else 100.0)
    found = _RATING.match(as_text(value).strip())
    if found is None:
        raise ValueError("not a rating like 7.5/10")
    number = float(found["value"].replace(",", "."))
    if found["percent"]:
        return _checked_rating(number, 100.0)
    if found["scale"]:
        return _checked_rating(number, float(found["scale"].replace(",", ".")))
    return _checked_rating(number, 10.0 if number <= 10 else 100.0)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("rating value and scale must be numbers")
    try:
        return float(value)
    except ValueError:
        raise ValueError("rating value and scale must be numbers") from None


def _checked_rating(value: float, scale: float) -> Rating:
    if not (math.isfinite(value) and math.isfinite(scale)) or scale <= 0:
        raise ValueError("rating scale must be a positive number")
    if not 0 <= value <= scale:
        raise ValueError(f"rating {value:g} is outside 0–{scale:g}")
    return Rating(value=value, scale=scale)


def read_list(value: MetaValue, separators: re.Pattern[str]) -> list[str]:
    """Names from a list or a delimited string, blanks dropped."""
    items = value if isinstance(value, list) else separators.split(as_text(value))
    return [text for item in items if (text := as_text(item).strip())]  # type: ignore[arg-type]


def read_datetime(value: MetaValue) -> datetime:
    """A UTC datetime from ISO 8601, RFC 2822 or a written date; naive times are UTC."""
    moment = _parse_datetime_text(as_text(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_datetime_text(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError("not a date (use ISO 8601, e.g. 2024-05-01T09:30:00Z)")


def read_url(value: MetaValue) -> str:
    """An absolute http(s) URL."""
    text = as_text(value).strip()
    if not _URL.match(text):
        raise ValueError("not an absolute http(s) URL")
    # Feeds and webhooks carry the URL as is: it must be clean text already (no control,
    # bidi or zero-width characters) and parse as a URL with a host.
    if clean_inline(text) != text:
        raise ValueError("the URL contains control, invisible or non-normalized characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise ValueError(f"not a valid URL: {error}") from None
    if not parts.hostname:
        raise ValueError("the URL has no host")
    return text


def read_language(value: MetaValue) -> str:
    """A BCP 47 language tag in its usual case (``en``, ``pt-BR``)."""
    text = as_text(value).strip().replace("_", "-")
    if not _LANGUAGE.match(text):
        raise ValueError("not a language tag like en or pt-BR")
    primary, *rest = text.split("-")
    return "-".join([primary.lower(), *(part.upper() if len(part) == 2 else part for part in rest)])
