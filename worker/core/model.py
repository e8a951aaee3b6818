"""The article model: frozen, typed, with an exact JSON round trip.

msgspec structs are used instead of dataclasses because they give strict typed
decoding (a wrong type in stored or submitted JSON is a clear error naming the
field path), exact round trips of datetimes and floats, and they are fast.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import msgspec

#: A timezone-aware datetime; :class:`Article` further requires UTC.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class Rating(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rating such as 6.785 out of 10."""

    value: float
    scale: float


class Metadata(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=False):
    """Structured metadata: known keys typed, every other ``Key: Value`` kept as text."""

    release_year: int | None = None
    rating: Rating | None = None
    extra: dict[str, str] = msgspec.field(default_factory=dict)


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A titled part of an article: heading, paragraphs and an extractive summary."""

    heading: str
    paragraphs: tuple[str, ...]
    summary: str = ""


class Article(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A parsed, normalized and summarized article.

    Every string is plain text, never HTML (markup in the input is sanitized away or
    kept as the text it was written as); ``feeds/markup.py`` escapes it wherever a
    document needs HTML.

    Times are timezone-aware UTC, or ``None`` when the input did not give them (the
    ingest stage stamps them from the store; the pure core never reads the clock).
    ``content_hash`` is the semantic hash of :mod:`worker.core.fingerprint`.
    """

    id: str
    slug: str
    title: str
    description: str
    url: str | None
    authors: tuple[str, ...]
    published: AwareDatetime | None
    updated: AwareDatetime | None
    metadata: Metadata
    tags: tuple[str, ...]
    language: str
    word_count: int
    reading_time_minutes: int
    sections: tuple[Section, ...]
    summary: str
    content_hash: str

    def __post_init__(self) -> None:
        for name in ("published", "updated"):
            moment: datetime | None = getattr(self, name)
            if moment is not None and moment.utcoffset() != timedelta(0):
                raise ValueError(f"{name} must be in UTC, got offset {moment.utcoffset()}")

    def to_json(self) -> str:
        """The article as a JSON document (the model's JSON form)."""
        return _ENCODER.encode(self).decode("utf-8")

    def to_dict(self) -> dict[str, object]:
        """The article as plain JSON-compatible data."""
        data: dict[str, object] = msgspec.to_builtins(self)
        return data

    @classmethod
    def from_json(cls, document: str | bytes) -> Article:
        """Decode the JSON form, checking every field's type.

        Raises :class:`msgspec.ValidationError` or :class:`msgspec.DecodeError`; the
        public parsers wrap those into :class:`~worker.core.errors.InputError`.
        """
        return _DECODER.decode(document)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Article)
