"""Text normalization: bytes to clean, XML-safe, NFC text.

Every string that reaches an :class:`~worker.core.model.Article` goes through
:func:`clean_inline` (one line of text) so the same rules hold for every input format:

* Unicode NFC;
* mojibake repaired (ftfy, only where a cheap check sees its signature, since ftfy's
  own detector costs milliseconds per article);
* characters invalid in XML 1.0, other control characters, zero-width and bidi
  override characters removed (zero-width joiners are kept: emoji and some scripts
  need them);
* whitespace runs collapsed to one space (no-break spaces are kept);
* curly quotes and dashes are left as they are, for display.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import ftfy

from worker.core.errors import InputError

_FTFY_CONFIG = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    fix_character_width=False,
    unescape_html=False,
    fix_line_breaks=False,
    normalization="NFC",
    explain=False,
)

# UTF-8 lead bytes read as Latin-1/cp1252 (Â Ã â ð ...) followed by what a
# continuation byte becomes in those encodings: the signature of mojibake.
_MOJIBAKE_HINT = re.compile(
    "[\u00c0-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)

# Not allowed in XML 1.0, or invisible tricks: C0 controls but tab/newline, DEL and
# C1 controls, surrogates, U+FFFE/U+FFFF, noncharacters, zero-width space/no-break,
# word joiner, soft hyphen, bidi embeddings/overrides/isolates, interlinear annotations.
_REMOVED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\u00ad\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\U0001fffe\U0001ffff]"
)
# Every whitespace character except the no-break spaces, which are typographic.
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
# The pattern has no literal prefix for the regex engine to scan by, so a text without
# any of these characters is recognized first with ``in``, many times faster.
_LINE_BREAK_CHARS = ("\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")

_MAGIC_BINARY: tuple[bytes, ...] = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\x7fELF",
    b"MZ",
)
_CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in b"\t\n\r\x0c")


def decode_input(data: bytes) -> str:
    """Decode raw input to text with Unix line endings.

    Accepts UTF-8 (with or without BOM) and UTF-16 with a BOM. Raises
    :class:`InputError` for empty, binary or undecodable input.
    """
    if not data.strip():
        raise InputError(
            "empty", "the input is empty" if not data else "the input is only whitespace"
        )
    text = _decode_unicode(data)
    if any(char in text for char in _LINE_BREAK_CHARS):
        return _LINE_BREAKS.sub("\n", text)
    return text


def _decode_unicode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InputError("encoding", f"invalid UTF-16 at byte {error.start}") from None
    _reject_binary(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        bad = data[error.start : error.start + 1].hex()
        raise InputError(
            "encoding", f"not valid UTF-8 (byte 0x{bad} at offset {error.start})", line=line
        ) from None


def _reject_binary(data: bytes) -> None:
    """Refuse data that is a file format or mostly control bytes.

    A stray NUL or escape sequence in otherwise readable text is not binary: it is
    removed by :func:`clean_inline` with a warning.
    """
    head = data[:4096]
    nuls = head.count(0)
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head.startswith(_MAGIC_BINARY) or nuls >= 3 or (controls >= 8 and controls * 10 > len(head)):
        raise InputError("binary", "the input looks like a binary file, not text")


def clean_inline(text: str) -> str:
    """One line of clean text: NFC, repaired, XML-safe, whitespace collapsed."""
    # ASCII has no mojibake signature and is already NFC; str.isascii costs nothing.
    if not text.isascii():
        if _MOJIBAKE_HINT.search(text):
            text = ftfy.fix_text(text, _FTFY_CONFIG)
        text = unicodedata.normalize("NFC", text)
    if text.isprintable():  # every removed character is unprintable
        return _collapse_printable(text)
    text = _REMOVED.sub("", text)
    if "\u00a0" in text or "\u202f" in text:
        return _SPACES.sub(" ", text).strip()
    return " ".join(text.split())  # the same collapse, several times faster


def collapse_spaces(text: str) -> str:
    """``" ".join(text.split())``, without splitting a text that has nothing to collapse."""
    return _collapse_printable(text) if text.isprintable() else " ".join(text.split())


def _collapse_printable(text: str) -> str:
    # The only whitespace character a printable text can hold is " ".
    if "  " in text or text[:1] == " " or text[-1:] == " ":
        return " ".join(text.split())
    return text


def has_removable(text: str) -> bool:
    """Whether :func:`clean_inline` would delete characters (not just spaces) from ``text``."""
    return not text.isprintable() and _REMOVED.search(text) is not None


_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 80


def slugify(text: str) -> str:
    """A lowercase ASCII slug (``red-rocket-2021``); empty when nothing ASCII remains."""
    folded = unicodedata.normalize("NFKD", text.replace("&", " and "))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_DROP.sub("-", ascii_text).strip("-")
    if len(slug) <= _SLUG_MAX:
        return slug
    cut = slug[:_SLUG_MAX]
    return cut.rsplit("-", 1)[0] if "-" in cut else cut
