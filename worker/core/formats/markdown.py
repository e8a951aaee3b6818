"""The Markdown article format (CommonMark, plus tables and strikethrough).

    ---                                  optional YAML front matter
    title: The Title
    description: One-line description.
    release_year: 2021
    rating: 7.25/10
    author: A. Writer
    tags: [drama, mystery]
    published: 2024-05-01
    ---

    # The Title

    One-line description.                (when the front matter has none)

    Release Year: 2021                   metadata lines, as in the text format

    ## First Heading

    A paragraph ...

* **Front matter** is a YAML mapping (safe YAML: no custom tags) between a ``---``
  line at the very start and a closing ``---`` (or ``...``) line. Its keys become
  metadata as written, with their line (see :mod:`worker.core.metadata` for the keys
  that are understood); values keep their YAML type, dates become ISO text; ``title``
  and ``description`` (and their aliases) fill those fields directly. Front matter
  that is not a mapping, is not closed, is invalid YAML, holds more than 10,000
  values or nests deeper than 32 levels is refused (``invalid_field``, with its line).
* **Title**: the front matter's title, else the first ``#`` heading (setext ``===``
  headings count). When the front matter has a title, a ``#`` heading equal to it is
  skipped and a different ``#`` heading opens a section, so no text is lost. No title
  anywhere is refused (``no_title``).
* **Front block**: the blocks between the title and the first section are read like
  the text format's front block (see :mod:`worker.core.lines`): a description, then
  ``Key: Value`` metadata lines, which may share one paragraph (every ``Key: Value``
  line of such a paragraph is metadata, whatever its key). When the front matter has
  a description, the first paragraph stays in the article. What remains becomes an
  untitled intro section.
* **Sections**: every ``##`` heading (and any later ``#`` heading) opens a section;
  ``###`` and deeper headings are paragraphs. Paragraphs, list items (one paragraph
  per item), block quotes, code blocks (verbatim), table rows (cells joined with
  " | ") become paragraphs.
* **Inline markup** becomes plain text: emphasis is dropped, links become their text,
  images their alt text, line breaks a space; no URL is kept. An autolink to anything
  but http(s), mailto or ftp is dropped.
* **Raw HTML** is untrusted: inline tags are dropped and HTML blocks keep only their
  sanitized text (see :mod:`worker.core.formats.html`); the content of ``script``,
  ``style``, ``svg`` and the other dropped elements never appears, even when the
  element spans several Markdown blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

import yaml
from markdown_it import MarkdownIt

from worker.core.draft import Draft, MetaEntry, MetaValue
from worker.core.errors import InputError
from worker.core.formats.html import DROPPED_TAGS, Block, Preset, draft_from_blocks, fragment_blocks
from worker.core.metadata import as_text, canonical_key

if TYPE_CHECKING:
    from markdown_it.token import Token


class _TextMarkdown(MarkdownIt):
    """CommonMark that accepts every link destination: links are read for their text."""

    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's name
        return True


# markdown-it's "normalize" rule scans the whole text with a slow regex even when there
# is nothing to change; _normalized does the same replacements only when they apply.
_MARKDOWN = (
    _TextMarkdown("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .disable("normalize")
)
_SAFE_AUTOLINK = re.compile(r"^(?:https?|mailto|ftp):", re.IGNORECASE)
_NO_TITLE = "no title: no '# Title' heading and no title in the front matter"


def parse_markdown(text: str) -> Draft:
    """Parse the Markdown format; ``text`` is decoded, with ``\\n`` line endings."""
    if not text.strip():
        raise InputError("empty", "the input is only whitespace")
    front_matter, body, line_offset = _split_front_matter(text)
    preset = _read_front_matter(front_matter) if front_matter is not None else Preset()
    blocks = _BlockCollector(line_offset).collect(_MARKDOWN.parse(_normalized(body)))
    return draft_from_blocks(blocks, preset, no_title=_NO_TITLE)


def _normalized(source: str) -> str:
    """What markdown-it's "normalize" rule makes of ``source``: ``\n`` line ends, no NUL."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in source:
        source = source.replace("\0", "\ufffd")
    return source


# ------------------------------------------------------------------------ front matter

_OPENING_FENCE = re.compile(r"---[ \t]*(?:\n|$)")
_CLOSING_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_C_LOADER_MAX_CHARS = 10_000  # libyaml recurses in C: only short documents are safe
_MAX_NESTING = 32
_MAX_VALUES = 10_000


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """``(front matter or None, body, lines before the body)``."""
    opening = _OPENING_FENCE.match(text)
    if opening is None:
        return None, text, 0
    closing = _CLOSING_FENCE.search(text, opening.end())
    if closing is None or not opening.group().endswith("\n"):
        raise InputError(
            "invalid_field", "the front matter opened by '---' has no closing '---' line", line=1
        )
    body_start = text.find("\n", closing.end())
    body_start = len(text) if body_start < 0 else body_start + 1
    return text[opening.end() : closing.start()], text[body_start:], text.count("\n", 0, body_start)


def _read_front_matter(source: str) -> Preset:
    data, key_lines = _load_yaml(source)
    if data is None:
        return Preset()
    if not isinstance(data, dict):
        raise InputError(
            "invalid_field",
            f"the front matter must be a mapping of keys to values, not {_yaml_kind(data)}",
            line=2,
        )
    preset = Preset()
    budget = [_MAX_VALUES]
    for raw_key, raw_value in data.items():
        key = as_text(_plain(raw_key, 0, budget)).strip()
        line = key_lines.get(key)
        value = _plain(raw_value, 0, budget)
        field = canonical_key(key)
        if field in ("title", "description"):
            _set_text_field(preset, field, key, value, line)
        elif key and value is not None:
            preset.meta.append(MetaEntry(key, value, line))
    return preset


def _set_text_field(
    preset: Preset, field: str, key: str, value: MetaValue, line: int | None
) -> None:
    if isinstance(value, list | dict):
        raise InputError(
            "invalid_field",
            f"front matter {key!r} must be text, not {_yaml_kind(value)}",
            line=line,
        )
    text = as_text(value).strip()
    if field == "title":
        preset.title, preset.title_line = text, line
    else:
        preset.description = text


def _load_yaml(source: str) -> tuple[object, dict[str, int]]:
    """The front matter's data and the line of each top-level key."""
    use_c = len(source) <= _C_LOADER_MAX_CHARS and hasattr(yaml, "CSafeLoader")
    loader = yaml.CSafeLoader(source) if use_c else yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 2 if mark is not None else 1
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(
            "invalid_field", f"the front matter is not valid YAML: {problem}", line
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        # PyYAML's own text spans lines ("...\n  in <unicode string>"): keep the first.
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid YAML"
        raise InputError(
            "invalid_field", f"the front matter is not valid YAML: {first}", 1
        ) from None
    except RecursionError:
        raise InputError("invalid_field", "the front matter is nested too deeply", 1) from None
    finally:
        loader.dispose()
    return data, _key_lines(node)


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines.setdefault(str(key_node.value).strip(), key_node.start_mark.line + 2)
    return lines


def _plain(value: object, depth: int, budget: list[int]) -> MetaValue:
    """A YAML value as plain metadata: dates become ISO text, sets become lists."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_NESTING:
        raise InputError("invalid_field", "the front matter is too large or nested too deeply", 1)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {
            as_text(_plain(key, depth + 1, budget)): _plain(item, depth + 1, budget)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(item, depth + 1, budget) for item in items]
    return str(value)


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a single value ({as_text(_plain(value, 0, [1]))[:40]!r})"


# ------------------------------------------------------------------------------ blocks

_LINE_BREAK_TAG = re.compile(r"<br\b", re.IGNORECASE)
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*?(/?)>")


def _still_dropping(html: str, dropping: str | None) -> str | None:
    """The dropped element (``<script>``, ``<svg>`` ...) left open after ``html``."""
    for match in _HTML_TAG.finditer(html):
        name = match[2].lower()
        if name not in DROPPED_TAGS:
            continue
        if dropping is None and not match[1]:
            if not (match[3] and name in ("svg", "math")):
                dropping = name
        elif match[1] and name == dropping:
            dropping = None
    return dropping


class _BlockCollector:
    """Turns markdown-it's token stream into :class:`Block` s."""

    def __init__(self, line_offset: int) -> None:
        self.blocks: list[Block] = []
        self._offset = line_offset
        self._items: list[tuple[list[str], int | None]] = []  # open list items
        self._row: list[str] = []
        self._dropping: str | None = None  # a dropped raw-HTML element is open

    def collect(self, tokens: Sequence[Token]) -> list[Block]:
        index = 0
        while index < len(tokens):
            index = self._token(tokens, index)
        while self._items:
            self._end_item()
        return self.blocks

    def _token(self, tokens: Sequence[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        if kind in ("heading_open", "paragraph_open"):
            self._text_block(token, tokens[index + 1])
            return index + 3
        if kind in ("th_open", "td_open"):
            self._row.append(" ".join(self._inline_lines(tokens[index + 1])))
            return index + 3
        if kind == "tr_close":
            if self._dropping is None:
                self._add(0, (" | ".join(cell for cell in self._row if cell),), token)
            self._row = []
        elif kind == "list_item_open":
            self._items.append(([], self._line(token)))
        elif kind == "list_item_close":
            self._end_item()
        elif kind in ("bullet_list_open", "ordered_list_open") and self._items:
            self._end_item(reopen=True)
        elif kind in ("fence", "code_block"):
            self._break_item()
            if self._dropping is None:
                self._add(0, (token.content.rstrip("\n"),), token)
        elif kind == "html_block":
            self._break_item()
            self._html_block(token)
        return index + 1

    def _text_block(self, opening: Token, inline: Token) -> None:
        level = int(opening.tag[1:]) if opening.type == "heading_open" else 0
        dropped = self._dropping is not None
        lines = self._inline_lines(inline)
        if dropped:
            return
        if level == 0 and self._items:
            self._items[-1][0].extend(lines)
            return
        self._break_item()
        self._add(level, lines, opening)

    def _html_block(self, token: Token) -> None:
        was_dropping = self._dropping
        self._dropping = _still_dropping(token.content, was_dropping)
        if was_dropping is None:
            for block in fragment_blocks(token.content):
                self._add(0, block.lines, token)

    def _add(self, level: int, lines: Sequence[str], token: Token | None) -> None:
        kept = tuple(text for line in lines if (text := line.strip()))
        if kept:
            self.blocks.append(Block(level, kept, self._line(token)))

    def _line(self, token: Token | None) -> int | None:
        if token is None or not token.map:
            return None
        return token.map[0] + 1 + self._offset

    def _end_item(self, *, reopen: bool = False) -> None:
        lines, line = self._items.pop()
        if lines:
            self.blocks.append(Block(0, tuple(lines), line))
        if reopen:
            self._items.append(([], None))

    def _break_item(self) -> None:
        """Emit an open list item's text so far (before a block that is not a paragraph)."""
        if self._items and self._items[-1][0]:
            self._end_item(reopen=True)

    def _inline_lines(self, inline: Token) -> tuple[str, ...]:
        """An inline token's text, one string per source line."""
        lines: list[str] = [""]
        self._inline_text(inline.children or [], lines)
        return tuple(text for line in lines if (text := line.strip()))

    def _inline_text(self, children: Sequence[Token], lines: list[str]) -> None:
        hidden_link = False
        for child in children:
            kind = child.type
            if kind == "html_inline":
                self._dropping = _still_dropping(child.content, self._dropping)
                if _LINE_BREAK_TAG.match(child.content):
                    lines[-1] += " "
            elif self._dropping is not None:
                continue
            elif kind in ("text", "text_special", "code_inline"):
                if not hidden_link:
                    lines[-1] += child.content
            elif kind in ("softbreak", "hardbreak"):
                lines.append("")
            elif kind == "image":
                self._inline_text(child.children or [], lines)
            elif kind == "link_open":
                href = str(child.attrs.get("href", ""))
                hidden_link = child.markup == "autolink" and not _SAFE_AUTOLINK.match(href)
            elif kind == "link_close":
                hidden_link = False
