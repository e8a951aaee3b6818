"""Line-level rules shared by the text-like formats: headings, metadata lines, the front block.

The plain-text format has no markup, so its structure comes from the shape of lines:

* a **heading** is short (at most 12 words, 100 characters), starts with a capital
  letter, digit or quote, and has no final punctuation — except a question mark when
  the line is in title case ("Who Was Really Driving?");
* a **metadata line** is ``Key: Value`` with a short key. Known keys (``Release Year``,
  ``Rating``, ``Author`` ...) are always metadata; an unknown key is metadata only when
  the line is not followed by a paragraph, because "Part 1: The Setup" followed by
  prose is a heading;
* the **front block** is what follows the title: a one-line description, metadata
  lines, and an optional repeat of the title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from worker.core.draft import MetaEntry
from worker.core.metadata import is_known_key

_HEADING_MAX_WORDS = 12
_HEADING_MAX_CHARS = 100
_CLOSERS = "\"'”’»)]"
_FINAL_PUNCTUATION = ".,;:!…"
_META_LINE = re.compile(
    r"^(?P<key>[^\W\d_][\w'’()&/.-]*(?: [\w'’()&/.-]+){0,4})\s*:\s+(?P<value>\S.*)$"
)
_META_KEY_MAX = 40
_QUOTE_FOLD = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line of input with its 1-based line number."""

    text: str
    number: int


def looks_like_heading(text: str) -> bool:
    """Whether a line has the shape of a section heading."""
    words = text.split()
    if not words or len(words) > _HEADING_MAX_WORDS or len(text) > _HEADING_MAX_CHARS:
        return False
    first = text[0]
    if not (first.isupper() or first.isdigit() or first in "\"'“‘«¿¡"):
        return False
    last = text.rstrip(_CLOSERS)[-1:] or text[-1]
    if last in _FINAL_PUNCTUATION:
        return False
    if last == "?":
        return _is_title_case(words)
    return True


def _is_title_case(words: Sequence[str]) -> bool:
    long_words = [word for word in words if len(word) > 3]
    capitalized = sum(1 for word in long_words if word[0].isupper())
    return bool(long_words) and capitalized * 10 >= len(long_words) * 6


def ends_sentence(text: str) -> bool:
    """Whether a line ends with terminal punctuation (possibly inside closing quotes)."""
    stripped = text.rstrip(_CLOSERS)
    if stripped != text:
        return True
    return bool(stripped) and stripped[-1] in ".!?…:;"


def match_metadata(text: str) -> tuple[str, str] | None:
    """``(key, value)`` when the line has the ``Key: Value`` shape, else ``None``."""
    found = _META_LINE.match(text)
    if found is None or len(found["key"]) > _META_KEY_MAX:
        return None
    return found["key"], found["value"].strip()


def same_title(a: str, b: str) -> bool:
    """Titles equal up to case, spacing, quote and dash style."""
    return _fold(a) == _fold(b)


def _fold(text: str) -> str:
    return " ".join(text.translate(_QUOTE_FOLD).casefold().split())


@dataclass(frozen=True, slots=True)
class FrontBlock:
    """What follows the title: description, metadata, and where the body starts."""

    description: str
    description_line: int | None
    meta: list[MetaEntry]
    body_start: int


def read_front(lines: Sequence[Line], title: str) -> FrontBlock:
    """Read the description, the metadata lines and a repeated title from ``lines``."""
    index = 0
    description, description_line = "", None
    if index < len(lines) and _is_description(lines, index, title):
        description, description_line = lines[index].text, lines[index].number
        index += 1
    meta: list[MetaEntry] = []
    while index < len(lines):
        if same_title(lines[index].text, title):
            index += 1
            continue
        entry = _metadata_at(lines, index, title)
        if entry is None:
            break
        meta.append(entry)
        index += 1
    return FrontBlock(description, description_line, meta, index)


def _is_description(lines: Sequence[Line], index: int, title: str) -> bool:
    text = lines[index].text
    if same_title(text, title) or _metadata_at(lines, index, title) is not None:
        return False
    if not looks_like_heading(text):
        return True
    # A heading-shaped line right after the title is a description only when
    # metadata or the repeated title follows; before prose it opens a section.
    following = index + 1
    return following < len(lines) and (
        same_title(lines[following].text, title)
        or _metadata_at(lines, following, title) is not None
    )


def _metadata_at(lines: Sequence[Line], index: int, title: str) -> MetaEntry | None:
    line = lines[index]
    pair = match_metadata(line.text)
    if pair is None:
        return None
    key, value = pair
    if not is_known_key(key) and not _front_continues(lines, index + 1, title):
        return None
    return MetaEntry(key, value, line.number)


def _front_continues(lines: Sequence[Line], index: int, title: str) -> bool:
    """Whether the line at ``index`` can still belong to the front block (not prose)."""
    if index >= len(lines):
        return True
    text = lines[index].text
    return same_title(text, title) or match_metadata(text) is not None or looks_like_heading(text)
