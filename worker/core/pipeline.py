"""The pure pipeline: raw bytes in, a parsed, normalized, summarized article out.

    parse_article(data, format=None, content_type=None) -> ParseResult

The format comes from the explicit argument, else the content type, else it is
sniffed from the first bytes. Every failure is an :class:`InputError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal, get_args

from worker.core.build import ParseResult, build_article
from worker.core.draft import Draft
from worker.core.errors import InputError
from worker.core.formats.html import parse_html
from worker.core.formats.jsonfmt import parse_json
from worker.core.formats.markdown import parse_markdown
from worker.core.formats.text import parse_text
from worker.core.normalize import decode_input
from worker.core.options import DEFAULT_OPTIONS, CoreOptions

Format = Literal["text", "markdown", "html", "json"]
FORMATS: tuple[Format, ...] = get_args(Format)

_PARSERS: dict[Format, Callable[[str], Draft]] = {
    "text": parse_text,
    "markdown": parse_markdown,
    "html": parse_html,
    "json": parse_json,
}
_FORMAT_ALIASES: dict[str, Format] = {
    "text": "text",
    "txt": "text",
    "plain": "text",
    "markdown": "markdown",
    "md": "markdown",
    "html": "html",
    "htm": "html",
    "json": "json",
}
_CONTENT_TYPES: dict[str, Format] = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
}
_HTML_STARTS = ("<!doctype", "<html", "<head", "<body", "<article", "<h1", "<p", "<div", "<main")


def parse_article(
    data: bytes | str,
    *,
    format: str | None = None,
    content_type: str | None = None,
    options: CoreOptions = DEFAULT_OPTIONS,
) -> ParseResult:
    """Parse one article from raw input. Raises :class:`InputError` on bad input."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > options.max_input_bytes:
        raise InputError(
            "too_large",
            f"the input is {len(raw):,} bytes; the limit is {options.max_input_bytes:,} bytes",
        )
    text = decode_input(raw)
    chosen = resolve_format(format, content_type) or sniff_format(text)
    draft = _PARSERS[chosen](text)
    return replace(build_article(draft, options), format=chosen)


def resolve_format(format: str | None, content_type: str | None) -> Format | None:
    """The format named explicitly or by a content type; ``None`` to sniff."""
    if format is not None:
        found = _FORMAT_ALIASES.get(format.strip().lower())
        if found is None:
            raise InputError(
                "unknown_format", f"unknown format {format!r}; use one of {', '.join(FORMATS)}"
            )
        return found
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type.endswith("+json"):
            return "json"
        return _CONTENT_TYPES.get(media_type)
    return None


def sniff_format(text: str) -> Format:
    """Guess the format from the start of the text."""
    head = text.lstrip()[:512]
    lowered = head.lower()
    if head.startswith(("{", "[")):
        return "json"
    if lowered.startswith(_HTML_STARTS) or lowered.startswith("<!--"):
        return "html"
    if head.startswith("---\n") or head.startswith("# "):
        return "markdown"
    return "text"
