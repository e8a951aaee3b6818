"""The HTML article format.

    <html lang="en">
    <head>
      <title>Fallback title</title>
      <meta name="description" content="One-line description.">
      <meta name="author" content="A. Writer">
      <meta name="keywords" content="drama, mystery">
      <meta property="article:published_time" content="2024-05-01T09:30:00Z">
      <meta property="article:modified_time" content="2024-05-02T10:00:00Z">
      <meta property="article:tag" content="thriller">          (repeatable)
      <link rel="canonical" href="https://example.com/the-article">
    </head>
    <body>
      <h1>Title</h1>
      <p>One-line description.</p>
      <p>Release Year: 2021</p>                 (metadata lines, as in the text format)
      <h2>First Heading</h2>
      <p>A paragraph.</p>
      ...
    </body>

The input is untrusted. It may be a whole document or a fragment.

* **Metadata** comes from the document head, read before anything else: ``<html lang>``
  and the ``<meta>``/``<link>`` elements above (``name`` or ``property`` both work).
  Only attribute values are read, as plain text: markup inside them is removed. A
  canonical link that is not an absolute http(s) URL is ignored with a warning.
* **Sanitizing**: the body is cleaned with ``nh3`` against an allow-list of structural
  tags with no attributes at all, so no script, style, event handler or URL survives.
  The content of ``script``, ``style``, ``template``, ``noscript``, ``iframe``,
  ``object``, ``svg``, ``math``, ``textarea``, ``select``, ``button``, ``nav`` and
  similar elements is dropped entirely; comments and CDATA are dropped.
* **Structure**: the first ``<h1>`` is the title (else the head's ``<title>``, with
  markup removed); text before it (site header, navigation) is ignored. Each ``<h2>``
  opens a section; a later ``<h1>`` opens a section too. ``<h3>``-``<h6>`` become
  paragraphs, and a heading left open ends where the next block begins. Every block
  element (``p``, ``li``, ``blockquote``, ``pre``, ``div``, table rows ...) is a
  paragraph; table cells are joined with " | "; ``<br>`` is a line break (a space in
  the article); images are dropped. Entities are decoded once, so ``&lt;b&gt;`` is the
  literal text "<b>", exactly what a browser shows (renderers escape it again).
* **Front block**: the blocks between the title and the first section are read like
  the text format's front block (see :mod:`worker.core.lines`): a one-line
  description, then ``Key: Value`` metadata lines, as separate ``<p>`` elements or
  one paragraph split by ``<br>``; every ``Key: Value`` line of such a paragraph is
  metadata, whatever its key. When the head has a description, the first paragraph
  stays in the article. What remains becomes an untitled intro section.
* **Limits**: html5ever (the parser inside nh3) takes quadratic time on deeply nested
  or misnested markup. Documents with more than 1,000 tags are checked first with a
  model of its tree building: HTML that would keep more than 256 elements open, or
  re-open thousands of misnested formatting elements, is refused (``too_complex``;
  see :mod:`worker.core.formats.html_limits`).
  Positions are not reported: sanitizing re-serializes the document.
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple

import nh3

from worker.core.draft import Draft, DraftSection, MetaEntry
from worker.core.errors import InputError, ParseWarning
from worker.core.formats.html_limits import check_structure
from worker.core.formats.html_tokens import attributes, tokens
from worker.core.lines import FrontBlock, Line, match_metadata, read_front, same_title

# --------------------------------------------------------------------------- blocks


class Block(NamedTuple):
    """A heading or paragraph found in a document, before it is placed in the article.

    ``level`` is the heading level (1-6) or 0 for a paragraph; ``lines`` are its
    visual lines (split at ``<br>`` or Markdown line breaks); ``line`` is the 1-based
    source line when the format knows it.
    """

    level: int
    lines: tuple[str, ...]
    line: int | None = None

    @property
    def text(self) -> str:
        """The block as one line of text."""
        return " ".join(self.lines)


@dataclass(slots=True)
class Preset:
    """What a format found outside its blocks: front matter or the HTML head."""

    title: str = ""
    title_line: int | None = None
    fallback_title: str = ""
    description: str = ""
    meta: list[MetaEntry] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


def draft_from_blocks(
    blocks: Sequence[Block],
    preset: Preset,
    *,
    skip_before_title: bool = False,
    no_title: str = "no title: the document has no level-1 heading",
) -> Draft:
    """Place blocks into a draft: title, front block, intro and sections.

    ``preset.title`` (Markdown front matter) wins over a level-1 block; a level-1 block
    equal to the title is skipped, any other opens a section. ``preset.fallback_title``
    (HTML ``<title>``) is used only when no level-1 block exists. With
    ``skip_before_title``, blocks before the title block (page chrome) are ignored.
    Shared by the HTML and Markdown formats.
    """
    title, title_line, title_index = _find_title(blocks, preset, no_title)
    start = title_index + 1 if skip_before_title and title_index is not None else 0
    front: list[Block] = []
    sections: list[DraftSection] = []
    for index in range(start, len(blocks)):
        block = blocks[index]
        if index == title_index or (block.level == 1 and same_title(block.text, title)):
            continue
        if block.level in (1, 2):
            sections.append(DraftSection(block.text, line=block.line))
        elif sections:
            sections[-1].paragraphs.append(block.text)
        else:
            front.append(block)
    draft = Draft(title=title, title_line=title_line, meta=list(preset.meta))
    intro = _read_front_blocks(front, title, preset, draft)
    draft.sections = [*intro, *sections]
    draft.warnings = list(preset.warnings)
    if not draft.description:
        draft.warnings.append(ParseWarning("no_description", "no description after the title"))
    return draft


def _find_title(
    blocks: Sequence[Block], preset: Preset, no_title: str
) -> tuple[str, int | None, int | None]:
    if preset.title:
        return preset.title, preset.title_line, None
    for index, block in enumerate(blocks):
        if block.level == 1 and block.text:
            return block.text, block.line, index
    if preset.fallback_title:
        return preset.fallback_title, None, None
    raise InputError("no_title", no_title)


def _read_front_blocks(
    front: list[Block], title: str, preset: Preset, draft: Draft
) -> list[DraftSection]:
    """Read description and metadata lines from ``front``; return the intro section."""
    lines: list[Line] = []
    owners: list[int] = []
    for owner, block in enumerate(front):
        for text, number in _logical_lines(block):
            lines.append(Line(text, number))
            owners.append(owner)
    found = read_front(lines, title)
    body_start, more_meta = _rest_of_metadata_block(lines, owners, found)
    draft.meta.extend(MetaEntry(e.key, e.value, e.line or None) for e in [*found.meta, *more_meta])
    paragraphs: list[str] = []
    first_line: int | None = None
    if preset.description:
        draft.description = preset.description
        if found.description:
            paragraphs.append(found.description)
            first_line = found.description_line
    else:
        draft.description = found.description
    previous_owner = -1
    for line, owner in zip(lines[body_start:], owners[body_start:], strict=True):
        if owner == previous_owner:
            paragraphs[-1] += " " + line.text
        else:
            paragraphs.append(line.text)
            first_line = first_line or line.number
        previous_owner = owner
    return [DraftSection("", paragraphs, line=first_line or None)] if paragraphs else []


def _rest_of_metadata_block(
    lines: list[Line], owners: list[int], found: FrontBlock
) -> tuple[int, list[MetaEntry]]:
    """The remaining ``Key: Value`` lines of the block holding the last metadata line.

    Headings are explicit in markup, so every ``Key: Value`` line of a paragraph of
    metadata lines is metadata too, whatever its key ("Runtime: 104 min").
    """
    start = found.body_start
    more: list[MetaEntry] = []
    if not found.meta:
        return start, more
    owner = owners[start - 1]
    while start < len(lines) and owners[start] == owner:
        pair = match_metadata(lines[start].text)
        if pair is None:
            break
        more.append(MetaEntry(pair[0], pair[1], lines[start].number))
        start += 1
    return start, more


def _logical_lines(block: Block) -> Iterator[tuple[str, int]]:
    """A block's lines, re-joined except around ``Key: Value``-shaped lines."""
    base = block.line or 0
    current: list[str] = []
    current_number = base
    previous_is_meta = False
    for offset, raw in enumerate(block.lines):
        text = _collapse(raw)
        is_meta = match_metadata(text) is not None
        if current and (is_meta or previous_is_meta):
            yield " ".join(current), current_number
            current = []
        if not current:
            current_number = base + offset if base else 0
        current.append(text)
        previous_is_meta = is_meta
    if current:
        yield " ".join(current), current_number


# ------------------------------------------------------------------------ sanitizing

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "header", "hr", "li", "main", "ol",
        "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "br", "cite", "code", "del", "dfn", "em", "i", "ins", "kbd",
        "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "td", "th",
        "time", "u", "var",
    }
)  # fmt: skip
_ALLOWED_TAGS = _HEADINGS | _BLOCK_TAGS | _INLINE_TAGS
#: Elements dropped with everything inside them.
DROPPED_TAGS = frozenset(
    {
        "applet", "audio", "button", "canvas", "embed", "frame", "frameset", "iframe",
        "math", "nav", "noembed", "noframes", "noscript", "object", "plaintext", "script",
        "select", "style", "svg", "template", "textarea", "title", "video", "xmp",
    }
)  # fmt: skip
_BODY_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_TAGS),
    attributes={},
    link_rel=None,
    url_schemes=set(),
    strip_comments=True,
)
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(),
    clean_content_tags=set(DROPPED_TAGS),
    attributes={},
    link_rel=None,
    url_schemes=set(),
    strip_comments=True,
)
_SPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_html(text: str) -> Draft:
    """Parse the HTML format; ``text`` is decoded, with ``\\n`` line endings."""
    text = _valid_unicode(text)
    if not text.strip():
        raise InputError("empty", "the input is only whitespace")
    check_structure(text)
    preset = _read_head(text)
    blocks = _read_blocks(_BODY_CLEANER.clean(text))
    return draft_from_blocks(blocks, preset, skip_before_title=True)


def fragment_blocks(fragment: str) -> list[Block]:
    """The text blocks of an untrusted HTML fragment (sanitized; headings included)."""
    fragment = _valid_unicode(fragment)
    check_structure(fragment)
    return _read_blocks(_BODY_CLEANER.clean(fragment))


def _markup_text(markup: str) -> str:
    """The text of an HTML snippet: tags removed, entities decoded, spaces collapsed."""
    if "<" not in markup and "&" not in markup:
        return _collapse(markup)
    return _collapse(entities.unescape(_TEXT_CLEANER.clean(markup)))


def _without_markup(text: str) -> str:
    """Decoded text (an attribute value) with anything tag-shaped removed."""
    if "<" not in text:
        return _collapse(text)
    return _markup_text(text.replace("&", "&amp;"))


def _valid_unicode(text: str) -> str:
    """``text`` with unpaired surrogates (which no sanitizer accepts) replaced."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _collapse(text: str) -> str:
    return _SPACE_RUN.sub(" ", text).strip()


class _BlockReader(HTMLParser):
    """Collects headings and paragraphs from sanitized HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._parts: list[str] = []
        self._lines: list[str] = []
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._end_line()
            return
        if self._heading is not None:
            if tag not in _HEADINGS and tag not in _BLOCK_TAGS:
                return
            self._end_heading()  # an unclosed heading ends where a block begins
        if tag in _HEADINGS:
            self._flush()
            self._heading = tag
        elif tag in _BLOCK_TAGS:
            self._flush()
        elif tag in ("td", "th") and any(part.strip() for part in self._parts):
            self._parts.append(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._heading is not None:
            if tag == self._heading:
                self._end_heading()
        elif tag in _BLOCK_TAGS:
            self._flush()

    def _end_heading(self) -> None:
        if self._heading is not None:
            self._flush(level=int(self._heading[1]))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self._parts.append(data)

    def _end_line(self) -> None:
        if not self._parts:
            return
        line = "".join(self._parts).strip()  # inner spaces are collapsed by the builder
        self._parts.clear()
        if line:
            self._lines.append(line)

    def _flush(self, level: int = 0) -> None:
        self._end_line()
        if self._lines:
            lines = tuple(map(_collapse, self._lines)) if level else tuple(self._lines)
            self.blocks.append(Block(level, lines))
            self._lines.clear()

    def close(self) -> None:
        super().close()
        self._end_heading()
        self._flush()


_BETWEEN_TAGS = re.compile(r">[ \t\n\r\f]{2,}<")


def _read_blocks(sanitized: str) -> list[Block]:
    reader = _BlockReader()
    reader.feed(_BETWEEN_TAGS.sub("> <", sanitized))  # layout whitespace: one space
    reader.close()
    return reader.blocks


# ------------------------------------------------------------------------------ head

_HEAD_TAGS = frozenset(
    {"html", "head", "meta", "link", "title", "base", "basefont", "bgsound", "script",
     "style", "noscript", "noframes"}
)  # fmt: skip
_META_KEYS = {
    "author": "author",
    "keywords": "keywords",
    "article:published_time": "published",
    "article:modified_time": "updated",
    "article:tag": "tags",
}
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE | re.ASCII)


def _read_head(text: str) -> Preset:
    """Metadata from the document head; stops at the first body content."""
    preset = Preset()
    for kind, name, attrs, start, end in tokens(text):
        if kind == "text":
            if text[start:end].strip():
                break
        elif kind == "raw":
            if name == "title" and not preset.fallback_title:
                preset.fallback_title = _markup_text(text[start:end])
        elif kind == "start":
            if name not in _HEAD_TAGS:
                break
            if name in ("html", "meta", "link"):
                _read_head_tag(preset, name, attributes(attrs))
    return preset


def _read_head_tag(preset: Preset, name: str, attrs: dict[str, str]) -> None:
    if name == "html":
        _add_meta(preset, "language", attrs.get("lang", ""))
    elif name == "link":
        if "canonical" in attrs.get("rel", "").lower().split():
            href = attrs.get("href", "").strip()
            if _HTTP_URL.match(href):
                preset.meta.append(MetaEntry("url", href))
            else:
                preset.warnings.append(
                    ParseWarning(
                        "bad_metadata_value",
                        "the canonical link is not an absolute http(s) URL; ignored",
                    )
                )
    else:
        kind = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        content = attrs.get("content", "")
        if kind == "description":
            preset.description = preset.description or _without_markup(content)
        elif kind in _META_KEYS:
            _add_meta(preset, _META_KEYS[kind], content)


def _add_meta(preset: Preset, key: str, value: str) -> None:
    text = _without_markup(value)
    if text:
        preset.meta.append(MetaEntry(key, text))
