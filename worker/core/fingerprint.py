"""The semantic content hash of an article.

Two versions of an article get the same hash when they differ only cosmetically:
whitespace, line endings, quote and dash style (curly or straight), the case of the
title and headings, Unicode composition. Any changed word, paragraph, heading,
description, author, tag or metadata value changes the hash. Derived fields
(summaries, word counts, ids) and delivery fields (URL, times) are not hashed.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence

from worker.core.model import Metadata, Section
from worker.core.normalize import collapse_spaces

_COSMETIC: dict[str, str] = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
}
# A regex finds the few cosmetic characters ~10x faster than str.translate scans.
_COSMETIC_CHARACTER = re.compile("[" + re.escape("".join(_COSMETIC)) + "]")
_ASCII_COSMETIC = tuple(char for char in _COSMETIC if char.isascii())  # the backtick
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _plain(text: str) -> str:
    # ASCII is NFKC already and rarely holds a cosmetic character: skip both scans.
    if not text.isascii() or any(char in text for char in _ASCII_COSMETIC):
        text = unicodedata.normalize("NFKC", text)
        text = _COSMETIC_CHARACTER.sub(lambda found: _COSMETIC[found.group()], text)
    return collapse_spaces(text)


def _folded(text: str) -> str:
    return _plain(text).casefold()


def content_hash(
    *,
    title: str,
    description: str,
    authors: Sequence[str],
    tags: Sequence[str],
    metadata: Metadata,
    sections: Sequence[Section],
) -> str:
    """``sha256:<hex>`` over the article's meaningful content."""
    canonical = {
        "title": _folded(title),
        "description": _plain(description),
        "authors": [_plain(author) for author in authors],
        "tags": sorted({_folded(tag) for tag in tags}),
        "release_year": metadata.release_year,
        "rating": None
        if metadata.rating is None
        else [metadata.rating.value, metadata.rating.scale],
        "extra": sorted((_folded(key), _plain(value)) for key, value in metadata.extra.items()),
        "sections": [
            [_folded(section.heading), [_plain(paragraph) for paragraph in section.paragraphs]]
            for section in sections
        ],
    }
    encoded = _CANONICAL_JSON.encode(canonical).encode("utf-8")
    return "sha256:" + hashlib.sha256(encoded).hexdigest()
