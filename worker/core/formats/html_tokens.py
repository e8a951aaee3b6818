"""A small HTML tokenizer for reading untrusted documents safely.

Python's ``html.parser`` is quadratic on some hostile input (``<a`` repeated 200,000
times takes minutes) and can raise ``AssertionError``; this tokenizer follows the HTML
tokenizer's rules for tags, attributes, comments and raw-text elements in linear time.
It is used to read the document head and to check structure before sanitizing; the
body's text is extracted from nh3's sanitized output.
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Generator, Iterator

# An attribute as the tokenizer reads it; an unterminated quote runs to the end.
_NAME = r"(?:=|[^\t\n\f\r />=])[^\t\n\f\r />=]*+"
_VALUE = r"""(?:"[^"]*+"?|'[^']*+'?|[^\t\n\f\r >"'][^\t\n\f\r >]*+)"""
ATTRIBUTE = re.compile(rf"(?P<name>{_NAME})(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?P<value>{_VALUE})?)?")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def attributes(raw: str) -> dict[str, str]:
    """Attributes of a tag as the HTML tokenizer reads them (first one of a name wins)."""
    found: dict[str, str] = {}
    for match in ATTRIBUTE.finditer(raw):
        name = match["name"].translate(_ASCII_LOWER)
        value = match["value"] or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1] if len(value) > 1 and value[-1] == value[0] else value[1:]
        found.setdefault(name, entities.unescape(value))
    return found


# ------------------------------------------------------------------------- tokenizer
#
# A tokenizer following the HTML standard's tokenization states closely enough to see
# every tag html5ever (inside nh3) sees: comments (including "<!-->" and "--!>"),
# bogus comments, attributes with quoted "<" and ">", raw-text elements and the
# escaped states of script data. It only serves the structure check and the head.

_TAG = re.compile(
    r"<(?P<end>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*+)"
    rf"(?P<attrs>(?:[\t\n\f\r /]++|{_NAME}(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+{_VALUE}?)?)*+)"
    r"(?P<close>>?)"
)
_COMMENT_END = re.compile(r"--!?>")
RAW_TEXT = frozenset(
    {"iframe", "noembed", "noframes", "noscript", "style", "textarea", "title", "xmp"}
)
_RAW_END = {
    name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE | re.ASCII) for name in RAW_TEXT
}
_SCRIPT_DATA = re.compile(r"<!--|</script[\t\n\f\r />]", re.IGNORECASE | re.ASCII)
_SCRIPT_ESCAPED = re.compile(
    r"-->|</script[\t\n\f\r />]|<script[\t\n\f\r />]", re.IGNORECASE | re.ASCII
)
_SCRIPT_DOUBLE_ESCAPED = re.compile(r"-->|</script[\t\n\f\r />]", re.IGNORECASE | re.ASCII)
START_TAG_LIKE = re.compile(r"<[A-Za-z]")

#: (kind, name, attrs, start, end): kind is "start", "end", "text", "raw" (the content
#: of a raw-text element, between start and end) or "cdata".
Token = tuple[str, str, str, int, int]


def tokens(text: str) -> Iterator[Token]:
    """Tokens of ``text`` in document order (see :data:`Token`)."""
    size = len(text)
    position = 0
    while position < size:
        less_than = text.find("<", position)
        if less_than < 0:
            yield "text", "", "", position, size
            return
        if less_than > position:
            yield "text", "", "", position, less_than
        tag = _TAG.match(text, less_than)
        if tag is None:
            position = yield from _markup(text, less_than)
            continue
        if not tag["close"]:
            return  # the document ends inside a tag, which is then dropped
        name = tag["name"].translate(_ASCII_LOWER)
        position = tag.end()
        if tag["end"]:
            yield "end", name, "", less_than, position
            continue
        yield "start", name, tag["attrs"], less_than, position
        if name == "plaintext":
            return
        if name == "script" or name in RAW_TEXT:
            content_end = _raw_text_end(name, text, position)
            yield "raw", name, "", position, content_end
            position = content_end


def _markup(text: str, less_than: int) -> Generator[Token, None, int]:
    """Skip a comment, doctype or bogus comment at ``less_than``; return where text resumes."""
    follows = text[less_than + 1 : less_than + 2]
    if follows == "!":
        if text.startswith("--", less_than + 2):
            return _comment_end(text, less_than + 4)
        if text.startswith("[CDATA[", less_than + 2):
            yield "cdata", "", "", less_than, less_than + 9
        return _after_gt(text, less_than + 2)
    if follows == "?":
        return _after_gt(text, less_than + 1)
    if follows == "/":
        after = text[less_than + 2 : less_than + 3]
        if after == ">":
            return less_than + 3
        if after:
            return _after_gt(text, less_than + 2)
    yield "text", "", "", less_than, less_than + 1
    return less_than + 1


def _after_gt(text: str, position: int) -> int:
    found = text.find(">", position)
    return len(text) if found < 0 else found + 1


def _comment_end(text: str, position: int) -> int:
    """Where a comment whose "<!--" ends at ``position`` is over ("<!-->" included)."""
    if text.startswith(">", position):
        return position + 1
    if text.startswith("->", position):
        return position + 2
    found = _COMMENT_END.search(text, position)
    return len(text) if found is None else found.end()


def _raw_text_end(name: str, text: str, position: int) -> int:
    """Where the content of a raw-text element starting at ``position`` ends."""
    if name != "script":
        found = _RAW_END[name].search(text, position)
        return len(text) if found is None else found.start()
    state = _SCRIPT_DATA
    while True:
        found = state.search(text, position)
        if found is None:
            return len(text)
        marker = found.group()
        position = found.end()
        if marker == "-->":
            state = _SCRIPT_DATA
        elif marker == "<!--":
            while text.startswith("-", position):
                position += 1
            if text.startswith(">", position):
                position += 1
            else:
                state = _SCRIPT_ESCAPED
        elif marker[1] == "/":
            if state is not _SCRIPT_DOUBLE_ESCAPED:
                return found.start()
            state = _SCRIPT_ESCAPED
        else:
            state = _SCRIPT_DOUBLE_ESCAPED


def self_closing(attrs: str) -> bool:
    if not attrs.endswith("/"):
        return False
    last = None
    for last in ATTRIBUTE.finditer(attrs):  # noqa: B007 - only the last one matters
        pass
    return last is None or last.end() < len(attrs)
