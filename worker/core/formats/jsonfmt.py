"""The JSON article format: one object with the article's fields.

    {
      "title": "The Title",                          required, non-blank
      "description": "One-line description.",
      "id": "the-title", "slug": "the-title", "url": "https://example.com/the-title",
      "authors": ["A. Writer"],                      or "author": "A. Writer"
      "published": "2024-05-01T09:30:00Z", "updated": "2024-05-02",
      "tags": ["drama"], "categories": ["reviews"],
      "language": "en",
      "metadata": {
        "release_year": 2021,                        an integer
        "rating": {"value": 7.25, "scale": 10},      or "7.25/10", or 7.25
        "runtime": "118 min"                         any other key: a string, number or
      },                                             boolean, kept as text
      "sections": [
        {"heading": "First Heading", "paragraphs": ["A paragraph.", "Another."]},
        {"heading": "Second Heading", "body": "A paragraph.\\n\\nAnother."}
      ]
    }

* Every field but ``title`` is optional; ``null`` counts as absent.
* Known fields are typed strictly: a wrong type is refused (``invalid_field``) with
  the JSON path, e.g. ``$.sections[2].heading: expected str, got int``. Section
  objects accept only ``heading``, ``paragraphs`` and ``body`` (one of the last two);
  ``body`` is split into paragraphs at blank lines. A rating object accepts only
  ``value`` and ``scale`` (default 10).
* Unknown top-level fields are ignored with an ``unknown_field`` warning.
* Malformed JSON is refused (``invalid_json``) with its line and column; so is a
  document that is not an object, or nests deeper than the decoder allows. A missing
  or blank title is refused (``no_title``).
* Dates, ratings, URLs and languages are interpreted like every other format's
  metadata (see :mod:`worker.core.metadata`).
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

import msgspec

from worker.core.draft import Draft, DraftSection, MetaEntry, MetaValue
from worker.core.errors import InputError, ParseWarning

_Scalar = str | int | float | bool | None
_T = TypeVar("_T")


class _RatingInput(msgspec.Struct, forbid_unknown_fields=True):
    value: float
    scale: float = 10.0


class _SectionInput(msgspec.Struct, forbid_unknown_fields=True):
    heading: str | None = None
    paragraphs: list[str] | None = None
    body: str | None = None


class _ArticleInput(msgspec.Struct):
    """The known fields; unknown ones are ignored here and reported separately."""

    title: str | None = None
    description: str | None = None
    id: str | None = None
    slug: str | None = None
    url: str | None = None
    author: str | None = None
    authors: list[str] | None = None
    published: str | None = None
    updated: str | None = None
    tags: list[str] | None = None
    categories: list[str] | None = None
    language: str | None = None
    metadata: dict[str, msgspec.Raw] | None = None
    sections: list[_SectionInput] | None = None


_KNOWN_FIELDS = frozenset(_ArticleInput.__struct_fields__)
_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ARTICLE = msgspec.json.Decoder(_ArticleInput)
_YEAR = msgspec.json.Decoder(int)
_RATING = msgspec.json.Decoder(_RatingInput | str | float | None)
_SCALAR = msgspec.json.Decoder(_Scalar)
_BYTE_POSITION = re.compile(r"\s*\(byte (\d+)\)$")
_AT_PATH = re.compile(r"^(?P<problem>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")
_SHOWN_UNKNOWN = 10


def parse_json(text: str) -> Draft:
    """Parse the JSON format; ``text`` is decoded, with ``\\n`` line endings."""
    if not text.strip():
        raise InputError("empty", "the input is only whitespace")
    data = _utf8(text)
    fields = _decode_top_level(data)
    article = _decode(_ARTICLE, data, "$")
    title = (article.title or "").strip()
    if not title:
        raise InputError("no_title", 'no title: the "title" field is missing or blank')
    draft = Draft(title=title, description=(article.description or "").strip())
    draft.meta = [*_field_meta(article), *_metadata_meta(article.metadata or {})]
    draft.sections = [_section(section, i) for i, section in enumerate(article.sections or [])]
    unknown = [name for name in fields if name not in _KNOWN_FIELDS]
    if unknown:
        draft.warnings.append(_unknown_fields_warning(unknown))
    if not draft.description:
        draft.warnings.append(ParseWarning("no_description", 'no "description" field'))
    return draft


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(
            "encoding", f"the text has an unpaired surrogate at character {error.start}"
        ) from None


def _decode_top_level(data: bytes) -> dict[str, msgspec.Raw]:
    """The document's top-level fields, undecoded: checks it is a JSON object."""
    try:
        return _TOP_LEVEL.decode(data)
    except msgspec.ValidationError as error:
        kind = str(error).rsplit("got `", 1)[-1].rstrip("`")
        raise InputError(
            "invalid_json", f"expected a JSON object with the article's fields, got {kind}"
        ) from None
    except msgspec.DecodeError as error:
        raise _malformed(data, str(error)) from None
    except RecursionError:
        raise InputError("invalid_json", "the JSON is nested too deeply") from None


def _decode(decoder: msgspec.json.Decoder[_T], data: bytes | msgspec.Raw, path: str) -> _T:
    """Decode with the field's type; type errors name the JSON path under ``path``."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as error:
        raise InputError("invalid_field", _type_problem(str(error), path)) from None
    except msgspec.DecodeError as error:
        raise _malformed(data, str(error)) from None
    except RecursionError:
        raise InputError("invalid_json", "the JSON is nested too deeply") from None


def _type_problem(message: str, prefix: str) -> str:
    """``"Expected `str`, got `int` - at `$.x`"`` as ``"$.x: expected str, got int"``."""
    found = _AT_PATH.match(message)
    problem, path = (found["problem"], found["path"]) if found else (message, None)
    problem = problem.replace("`", "").replace(" | null", "")
    problem = problem[:1].lower() + problem[1:]
    full_path = prefix + (path or "$")[1:]
    return f"{full_path}: {problem}"


def _malformed(data: bytes, message: str) -> InputError:
    reason = message.removeprefix("JSON is malformed: ")
    found = _BYTE_POSITION.search(reason)
    if found is None:
        if "truncated" in message:
            line = data.count(b"\n") + 1
            return InputError("invalid_json", "invalid JSON: the document ends too early", line)
        return InputError("invalid_json", f"invalid JSON: {reason}")
    offset = min(int(found[1]), len(data))
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    reason = reason[: found.start()]
    return InputError("invalid_json", f"invalid JSON at column {column}: {reason}", line)


def _field_meta(article: _ArticleInput) -> list[MetaEntry]:
    """Metadata entries for the top-level fields, under the keys metadata.py knows."""
    candidates: list[tuple[str, MetaValue]] = [
        ("authors", [article.author] if article.author is not None else None),
        ("authors", list(article.authors) if article.authors is not None else None),
        ("published", article.published),
        ("updated", article.updated),
        ("tags", list(article.tags) if article.tags is not None else None),
        ("categories", list(article.categories) if article.categories is not None else None),
        ("url", article.url),
        ("language", article.language),
        ("id", article.id),
        ("slug", article.slug),
    ]
    return [MetaEntry(key, value) for key, value in candidates if value is not None]


def _metadata_meta(metadata: dict[str, msgspec.Raw]) -> list[MetaEntry]:
    entries: list[MetaEntry] = []
    for key, raw in metadata.items():
        path = "$.metadata" + (f".{key}" if _IDENTIFIER.match(key) else f"[{json.dumps(key)}]")
        value: MetaValue
        if key == "release_year":
            value = _decode(_YEAR, raw, path)
        elif key == "rating":
            rating = _decode(_RATING, raw, path)
            value = (
                {"value": rating.value, "scale": rating.scale}
                if isinstance(rating, _RatingInput)
                else rating
            )
        else:
            value = _decode(_SCALAR, raw, path)
        if value is not None:
            entries.append(MetaEntry(key, value))
    return entries


def _section(section: _SectionInput, index: int) -> DraftSection:
    if section.paragraphs is not None and section.body is not None:
        raise InputError(
            "invalid_field",
            f'$.sections[{index}]: has both "paragraphs" and "body"; give one of them',
        )
    if section.body is not None:
        paragraphs = [part.strip() for part in _BLANK_LINE.split(section.body) if part.strip()]
    else:
        paragraphs = list(section.paragraphs or [])
    return DraftSection((section.heading or "").strip(), paragraphs)


def _unknown_fields_warning(unknown: list[str]) -> ParseWarning:
    shown = ", ".join(json.dumps(name) for name in unknown[:_SHOWN_UNKNOWN])
    more = f" and {len(unknown) - _SHOWN_UNKNOWN:,} more" if len(unknown) > _SHOWN_UNKNOWN else ""
    noun = "field" if len(unknown) == 1 else "fields"
    return ParseWarning("unknown_field", f"unknown {noun} ignored: {shown}{more}")
