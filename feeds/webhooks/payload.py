"""Webhook message bodies: compact UTF-8 JSON, always valid and never over the limit.

    {"type": "article.updated", "timestamp": "2024-05-01T12:00:00Z", "data": {...}}

The schema is ``docs/webhook-payload.schema.json``. ``data`` of an article event
identifies the article (id, version, url, title, authors, tags, feeds) and describes
it (description, summary, section summaries). ``article.deleted`` carries no
summary and no sections; ``changed_sections`` is filled only for ``article.updated``.

A body over the limit (20 KiB by default) is cut, ``"truncated": true``, in this
order, each step only as far as needed:

1. section summaries, from the last section backwards (the first sections keep
   theirs whole, the one at the boundary is shortened with "…", later ones are "");
2. whole sections, from the end;
3. the article summary, then the description (shortened with "…");
4. the lists ``changed_sections``, ``tags`` and ``authors``, from the end;
5. only if even an empty title would not fit, last resorts no real article needs:
   ``url`` set to null (a shortened url would be a wrong one), ``feeds`` from the
   end, the id shortened with "…";
6. the title (shortened with "…").

Every text field is the article's plain text as written, never HTML and never
escaped: ``<b>`` in a title arrives as ``<b>`` (the JSON Feed carries the same
values), and a partner escapes it for its own context (``plainText`` in the schema).

A too small ``limit`` (below the ~300 bytes of an empty body) raises ValueError.

Shortened text is a prefix, trailing whitespace removed, then "…" (or "" when
nothing of it fits). Text is cut between code points of well-formed text (lone
surrogates are replaced by U+FFFD first), so no UTF-8 sequence or surrogate pair
is ever split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar, cast

from worker.core.model import Article

MAX_BODY_BYTES = 20 * 1024
EVENT_TYPES = ("article.published", "article.updated", "article.deleted")
TEST_EVENT = "webhook.test"
TEST_MESSAGE = "This is a test event from syndicate."
ELLIPSIS = "…"

_FEED_KEYS = frozenset({"name", "title", "atom", "rss", "json"})
_REQUIRED_FEED_KEYS = frozenset({"name", "atom", "rss", "json"})
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The smallest encoded size of a section (``{"heading":"","summary":""}``).
_EMPTY_SECTION_BYTES = 27

T = TypeVar("T")
Data = dict[str, object]
Fits = Callable[[], bool]
Cut = Callable[[Data, Fits], None]


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with seconds precision: ``...T12:00:00Z``."""
    if moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is needed, got {moment!r}")
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def build_article_payload(
    event_type: str,
    article: Article,
    *,
    version: int,
    timestamp: datetime,
    changed_sections: Sequence[str] = (),
    feeds: Sequence[Mapping[str, str]] = (),
    limit: int = MAX_BODY_BYTES,
) -> bytes:
    """The body of an article event, cut to ``limit`` bytes if needed (see above)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r} (one of {', '.join(EVENT_TYPES)})")
    if version < 0:
        raise ValueError(f"a version is a non-negative integer, got {version!r}")
    data = _article_data(event_type, article, version, changed_sections, feeds)
    stamp = rfc3339(timestamp)

    def render() -> bytes:
        return _encode({"type": event_type, "timestamp": stamp, "data": data})

    return _fit(data, render, limit)


def build_test_payload(endpoint_id: str, *, timestamp: datetime) -> bytes:
    """The body of a ``webhook.test`` event for one endpoint."""
    data = {"endpoint": _clean(endpoint_id), "message": TEST_MESSAGE}
    body = _encode({"type": TEST_EVENT, "timestamp": rfc3339(timestamp), "data": data})
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"endpoint id too long for a {MAX_BODY_BYTES}-byte body")
    return body


def _article_data(
    event_type: str,
    article: Article,
    version: int,
    changed_sections: Sequence[str],
    feeds: Sequence[Mapping[str, str]],
) -> Data:
    """The ``data`` object, before any cut."""
    deleted = event_type == "article.deleted"
    sections = [
        {"heading": _clean(section.heading), "summary": _clean(section.summary)}
        for section in article.sections
    ]
    changed = changed_sections if event_type == "article.updated" else ()
    return {
        "id": _clean(article.id),
        "version": version,
        "url": None if article.url is None else _clean(article.url),
        "title": _clean(article.title),
        "description": _clean(article.description),
        "authors": [_clean(author) for author in article.authors],
        "tags": [_clean(tag) for tag in article.tags],
        "published": None if article.published is None else rfc3339(article.published),
        "updated": None if article.updated is None else rfc3339(article.updated),
        "summary": None if deleted else _clean(article.summary),
        "sections": [] if deleted else sections,
        "changed_sections": [_clean(heading) for heading in changed],
        "feeds": [_feed(feed) for feed in feeds],
        "truncated": False,
    }


def _feed(feed: Mapping[str, str]) -> dict[str, str]:
    """One feed entry as given, checked: name, atom, rss, json and an optional title."""
    keys = set(feed)
    if not _REQUIRED_FEED_KEYS <= keys <= _FEED_KEYS:
        raise ValueError(
            f"a feed entry has keys name, atom, rss, json and optionally title; got {sorted(keys)}"
        )
    return {key: _clean(value) for key, value in feed.items()}


def _clean(text: str) -> str:
    """Well-formed text: surrogate pairs joined, lone surrogates replaced by U+FFFD."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _encode(document: object) -> bytes:
    """Compact UTF-8 JSON."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _fit(data: Data, render: Callable[[], bytes], limit: int) -> bytes:
    """The rendered body, after the cuts needed to bring it within ``limit`` bytes."""
    body = render()
    if len(body) <= limit:
        return body
    data["truncated"] = True
    _precap(data, limit)

    def fits() -> bool:
        return len(render()) <= limit

    for cut in _CUTS:
        cut(data, fits)
        body = render()
        if len(body) <= limit:
            return body
    raise ValueError(f"a limit of {limit} bytes is too small for any message body")


def _cut_text(text: str, keep: int) -> str:
    """The first ``keep`` characters and "…", the whole text if it is that short."""
    if keep >= len(text):
        return text
    return text[:keep].rstrip() + ELLIPSIS if keep else ""


def _largest(upper: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, upper] with ``fits(n)`` (monotone), 0 if there is none."""
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _shrink(count: int, apply: Callable[[int], None], fits: Fits) -> int:
    """Apply and return the largest n in [0, count] that fits; ``apply(n)`` grows with n."""

    def trial(n: int) -> bool:
        apply(n)
        return fits()

    chosen = _largest(count, trial)
    apply(chosen)
    return chosen


def _shorten(key: str) -> Cut:
    """A cut shortening the text at ``key`` with "…"."""

    def cut(data: Data, fits: Fits) -> None:
        text = data[key]
        if not isinstance(text, str):
            return

        def keep(n: int) -> None:
            data[key] = _cut_text(text, n)

        _shrink(len(text), keep, fits)

    return cut


def _drop(key: str) -> Cut:
    """A cut dropping items from the end of the list at ``key``."""

    def cut(data: Data, fits: Fits) -> None:
        items = cast(list[object], data[key])

        def keep(n: int) -> None:
            data[key] = items[:n]

        _shrink(len(items), keep, fits)

    return cut


def _drop_url(data: Data, _fits: Fits) -> None:
    """Set the url to null: a shortened url would be a wrong one."""
    data["url"] = None


def _cut_section_summaries(data: Data, fits: Fits) -> None:
    """Empty section summaries from the end; shorten the one at the boundary."""
    sections = _objects(data, "sections")
    originals = [section["summary"] for section in sections]

    def keep_whole(n: int) -> None:
        for index, section in enumerate(sections):
            section["summary"] = originals[index] if index < n else ""

    boundary = _shrink(len(sections), keep_whole, fits)
    if boundary < len(sections):
        text = originals[boundary]

        def keep_chars(n: int) -> None:
            sections[boundary]["summary"] = _cut_text(text, n)

        _shrink(len(text), keep_chars, fits)


def _precap(data: Data, limit: int) -> None:
    """Drop what cannot be part of any body within ``limit`` (each char is ≥ 1 byte).

    Only saves work: every value removed here would be removed by the cuts anyway,
    so a pathological article (megabytes of text, thousands of sections or tags)
    costs a bounded amount of serialization.
    """
    for key in ("id", "url", "title", "description", "summary"):
        text = data[key]
        if isinstance(text, str):
            data[key] = text[:limit]
    for key in ("authors", "tags", "changed_sections"):
        strings = cast(list[str], data[key])
        data[key] = _prefix_within(strings, lambda item: len(item) + 3, limit)
    data["feeds"] = _prefix_within(_objects(data, "feeds"), _feed_cost, limit)
    sections = _prefix_within(
        _objects(data, "sections"), lambda s: len(s["heading"]) + _EMPTY_SECTION_BYTES + 1, limit
    )
    room = limit
    for section in sections:
        section["summary"] = section["summary"][:room]
        room -= len(section["summary"])
    data["sections"] = sections


def _objects(data: Data, key: str) -> list[dict[str, str]]:
    """The list of section or feed entries at ``key`` (built by :func:`_article_data`)."""
    return cast(list[dict[str, str]], data[key])


def _feed_cost(feed: dict[str, str]) -> int:
    """A lower bound of the encoded size of a feed entry."""
    return sum(len(key) + len(value) + 6 for key, value in feed.items())


def _prefix_within(items: list[T], cost: Callable[[T], int], limit: int) -> list[T]:
    """The longest prefix of ``items`` whose total ``cost`` is at most ``limit + 1``."""
    total = 0
    for index, item in enumerate(items):
        total += cost(item)
        if total > limit + 1:
            return items[:index]
    return items


def _room_for_title(data: Data, fits: Fits) -> None:
    """If even an empty title would not fit, apply the last resorts, in order."""
    title = data["title"]
    data["title"] = ""
    for cut in _LAST_RESORTS:
        if fits():
            break
        cut(data, fits)
    data["title"] = title


_LAST_RESORTS: tuple[Cut, ...] = (_drop_url, _drop("feeds"), _shorten("id"))
_CUTS: tuple[Cut, ...] = (
    _cut_section_summaries,
    _drop("sections"),
    _shorten("summary"),
    _shorten("description"),
    _drop("changed_sections"),
    _drop("tags"),
    _drop("authors"),
    _room_for_title,
    _shorten("title"),
)
