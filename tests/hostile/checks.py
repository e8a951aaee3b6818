"""What "a clear error" and "a sanitized article" mean, shared by the hostile tests."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import urlsplit

import feedparser
from lxml import etree

from tests.feed_rules import ALLOWED_TAGS, ATOM, findings, html_elements, html_fields
from worker.core.errors import InputError
from worker.core.model import Article

#: Characters XML 1.0 forbids, plus surrogates and the noncharacters U+FFFE/U+FFFF.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Bidi embeddings, overrides and isolates (the "Trojan Source" characters).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Zero-width characters with no legitimate use inside article text. ZWJ and ZWNJ
#: (U+200D, U+200C) are kept on purpose: emoji sequences and Persian or Indic words
#: need them; a title made only of them is checked by :func:`visible`.
ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff\u00ad]")
ACTIVE_MARKUP = ("<script", "javascript:", "onerror", "onload")
#: Letters that render as blank space (Hangul fillers, Braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def error_problems(error: InputError) -> list[str]:
    """Why an InputError's message is not a clear one-line error (empty: it is)."""
    message = str(error)
    problems = []
    if not message.strip():
        problems.append("empty message")
    if "\n" in message or "\r" in message:
        problems.append("message spans several lines")
    if "Traceback" in message or 'File "' in message:
        problems.append("message contains traceback text")
    if len(message) > 500:
        problems.append(f"message is {len(message)} characters long")
    return problems


def strings(value: object) -> Iterator[str]:
    """Every string (keys included) in a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def visible(text: str) -> bool:
    """Whether some character of ``text`` draws something."""
    return any(
        unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_LETTERS for char in text
    )


def article_problems(article: Article, *, literal_markup: bool = False) -> list[str]:
    """Why an accepted article is not clean (empty: it is).

    ``literal_markup``: the input wrote markup as *text* (plain text, JSON strings or
    entity-escaped HTML), which the article keeps as text and every output escapes.
    """
    document = article.to_json()
    problems = []
    for text in strings(json.loads(document)):
        for name, pattern in (
            ("XML-invalid", XML_INVALID),
            ("bidi control", BIDI_CONTROLS),
            ("zero-width", ZERO_WIDTH),
        ):
            found = pattern.findall(text)
            if found:
                problems.append(f"{name} characters {found[:5]!r} in {text[:60]!r}")
    if not visible(article.title):
        problems.append(f"the title {article.title!r} is invisible")
    if article.url is not None:
        parts = urlsplit(article.url)  # raises ValueError on e.g. "http://[::1"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"url {article.url!r} is not an absolute http(s) URL")
    if not literal_markup:
        lowered = document.lower()
        problems.extend(f"{word!r} in the article" for word in ACTIVE_MARKUP if word in lowered)
    return problems


#: Validator rules not held against hostile input: the core keeps U+FFFD (what broken
#: bytes or references such as ``&#0;`` decode to) as visible text, and the validator
#: warns about it in Atom text (BadCharacters). An encoding question, not a markup one:
#: see docs/feeds.md.
TOLERATED_RULES = frozenset({"BadCharacters"})


def feed_problems(documents: dict[str, bytes]) -> list[str]:
    """Why rendered feeds (``render_all`` output) are not valid and inert (empty: they are).

    HTML fields are read from the documents themselves, not from feedparser (which
    sanitizes them and would hide live markup); the validator's text and HTML rules
    come from :mod:`tests.feed_rules`.
    """
    problems = []
    readable = ["json"]
    for kind in ("atom", "rss"):
        try:
            root = etree.fromstring(documents[kind])
        except etree.XMLSyntaxError as error:
            problems.append(f"{kind}: not well-formed XML: {error}")
            continue
        readable.append(kind)
        parsed = feedparser.parse(documents[kind])
        if parsed.bozo:
            problems.append(f"{kind}: feedparser bozo: {parsed.get('bozo_exception')!r}")
        for entry in parsed.entries:
            problems.extend(f"{kind}: {p}" for p in _link_problems(entry.get("link", "")))
        problems.extend(
            f"{kind}: {finding}"
            for finding in findings(kind, documents[kind])
            if finding.rule not in TOLERATED_RULES
        )
        problems.extend(f"{kind}: {p}" for p in _content_problems(kind, root))
    try:
        feed = json.loads(documents["json"])
    except ValueError as error:
        problems.append(f"json: not JSON: {error}")
        readable.remove("json")
    else:
        for item in feed.get("items", []):
            problems.extend(f"json: {p}" for p in _link_problems(item.get("url", "")))
            if not str(item.get("content_html", "")).strip():
                problems.append(f"json: item {item.get('id')} has no content_html")
    for kind in readable:
        for field in html_fields(kind, documents[kind]):
            problems.extend(f"{kind}: {p}" for p in _markup_problems(field))
    return problems


def _content_problems(kind: str, root: etree._Element) -> list[str]:
    """Entries without non-blank content (Atom content, RSS description)."""
    if kind == "atom":
        entries = root.findall(f"{ATOM}entry")
        contents = [entry.findtext(f"{ATOM}content") for entry in entries]
    else:
        contents = [item.findtext("description") for item in root.findall("channel/item")]
    return [f"entry {index} has blank content" for index, text in enumerate(contents)
            if not (text or "").strip()]  # fmt: skip


def _link_problems(link: str) -> list[str]:
    try:
        parts = urlsplit(link)
    except ValueError as error:
        return [f"entry link {link!r} does not parse: {error}"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"entry link {link!r} is not an absolute http(s) URL"]
    return []


def _markup_problems(content: str) -> list[str]:
    """Elements and attributes a reader would render from an HTML field."""
    problems = []
    for tag, attributes in html_elements(content):
        if tag not in ALLOWED_TAGS:
            problems.append(f"<{tag}> element in an HTML field")
        problems.extend(f"{name}= attribute on <{tag}>" for name in attributes)
    return problems
