"""What "a clear error" and "a sanitized article" mean, shared by the hostile tests."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import urlsplit

import feedparser
from lxml import etree
from lxml import html as lxml_html

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


ALLOWED_CONTENT_TAGS = frozenset({"div", "p", "h2", "ul", "li", "em"})


def feed_problems(documents: dict[str, bytes]) -> list[str]:
    """Why rendered feeds (``render_all`` output) are not valid and inert (empty: they are)."""
    problems = []
    for kind in ("atom", "rss"):
        try:
            etree.fromstring(documents[kind])
        except etree.XMLSyntaxError as error:
            problems.append(f"{kind}: not well-formed XML: {error}")
            continue
        parsed = feedparser.parse(documents[kind])
        if parsed.bozo:
            problems.append(f"{kind}: feedparser bozo: {parsed.get('bozo_exception')!r}")
        for entry in parsed.entries:
            problems.extend(f"{kind}: {p}" for p in _link_problems(entry.get("link", "")))
            for content in entry.get("content", []):
                problems.extend(f"{kind}: {p}" for p in _markup_problems(content.value))
    try:
        feed = json.loads(documents["json"])
    except ValueError as error:
        problems.append(f"json: not JSON: {error}")
    else:
        for item in feed.get("items", []):
            problems.extend(f"json: {p}" for p in _link_problems(item.get("url", "")))
            problems.extend(f"json: {p}" for p in _markup_problems(item.get("content_html", "")))
    return problems


def _link_problems(link: str) -> list[str]:
    try:
        parts = urlsplit(link)
    except ValueError as error:
        return [f"entry link {link!r} does not parse: {error}"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"entry link {link!r} is not an absolute http(s) URL"]
    return []


def _markup_problems(content: str) -> list[str]:
    """Active markup in an entry's HTML content once a reader decodes it."""
    if not content.strip():
        return []
    root = lxml_html.fragment_fromstring(content, create_parent="div")
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if element.tag not in ALLOWED_CONTENT_TAGS:
            problems.append(f"<{element.tag}> element in the content")
        problems.extend(
            f"{name}= attribute on <{element.tag}>"
            for name in element.attrib
            if name.lower().startswith("on") or "javascript:" in element.get(name, "").lower()
        )
    return problems
