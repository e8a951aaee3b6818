"""Refusing HTML whose sanitizing would take quadratic time.

html5ever's tree builder (the parser inside nh3) walks its stack of open elements
for most tags, and re-opens misnested formatting elements for every run of text:
both are quadratic on hostile input (measured: 10,000 nested ``<div>`` take 0.3 s,
100,000 take 21 s; 140 KB of misnested ``<b>`` take 86 s and 420 MB). This module
replays the tree construction rules that matter ("in body", tables, ``<select>``,
simple SVG) on a model of the stack of open elements and the list of active
formatting elements, and refuses a document (``too_complex``) when the stack would
grow past 256 elements or too many elements would be re-opened. Where the model
cannot follow the tree builder (MathML, SVG with HTML inside, unusual ``<select>``
content) it falls back to counting every possible start tag from that point on.
Documents with at most 1,000 ``<`` are never checked.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from worker.core.errors import InputError
from worker.core.formats.html_tokens import (
    RAW_TEXT,
    START_TAG_LIKE,
    Token,
    self_closing,
    tokens,
)

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_MAX_OPEN_ELEMENTS = 256
_MAX_FORMATTING_ENTRIES = 64
_REOPEN_ALLOWANCE = 10_000  # re-opened elements allowed, plus 4 per token
_REOPEN_PER_TOKEN = 4
_SMALL_DOCUMENT_TAGS = 1_000

_FORMATTING = frozenset(
    {"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
     "tt", "u"}
)  # fmt: skip
_SPECIAL = frozenset(
    {
        "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
        "blockquote", "body", "br", "button", "caption", "center", "col", "colgroup",
        "dd", "details", "dialog", "dir", "div", "dl", "dt", "embed", "fieldset",
        "figcaption", "figure", "footer", "form", "frame", "frameset", "h1", "h2", "h3",
        "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "iframe", "img",
        "input", "keygen", "li", "link", "listing", "main", "marquee", "menu", "meta",
        "nav", "noembed", "noframes", "noscript", "object", "ol", "p", "param",
        "plaintext", "pre", "script", "search", "section", "select", "source", "style",
        "summary", "table", "tbody", "td", "template", "textarea", "tfoot", "th",
        "thead", "title", "tr", "track", "ul", "wbr", "xmp", "mi", "mo", "mn", "ms",
        "mtext", "annotation-xml", "foreignobject", "desc",
    }
)  # fmt: skip
_SCOPE = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template",
     "mi", "mo", "mn", "ms", "mtext", "annotation-xml", "foreignobject", "desc", "title"}
)  # fmt: skip
_CATEGORY_MEMBERS = {
    "@scope": _SCOPE,
    "@button": _SCOPE | {"button"},
    "@list": _SCOPE | {"ol", "ul"},
    "@table": frozenset({"html", "table", "template"}),
    "@special": _SPECIAL,
    "@li-stop": _SPECIAL - {"address", "div", "p"},
    "@heading": _HEADINGS,
}
_CATEGORIES: dict[str, tuple[str, ...]] = {
    name: tuple(category for category, members in _CATEGORY_MEMBERS.items() if name in members)
    for name in frozenset().union(*_CATEGORY_MEMBERS.values())
}
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
        "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup",
        "main", "menu", "nav", "ol", "p", "search", "section", "summary", "ul", "pre",
        "listing", "plaintext",
    }
)  # fmt: skip
_SCOPED_END = frozenset(
    {
        "address", "article", "aside", "blockquote", "button", "center", "details",
        "dialog", "dir", "div", "dl", "fieldset", "figcaption", "figure", "footer",
        "header", "hgroup", "listing", "main", "menu", "nav", "ol", "pre", "search",
        "section", "summary", "ul", "dd", "dt", "p", "li", "applet", "marquee", "object",
    }
)  # fmt: skip
_IMPLIED_END = frozenset({"dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt", "rtc"})
_TABLE_PARTS = frozenset(
    {"table", "caption", "colgroup", "col", "tbody", "thead", "tfoot", "tr", "td", "th"}
)
_TABLE_MODES = frozenset({"table", "tbody", "thead", "tfoot", "tr"})
_TABLE_CONTEXT = ("td", "th", "tr", "tbody", "thead", "tfoot", "caption", "table", "template")
_IGNORED = frozenset({"html", "head", "body", "frameset", "frame"})
_VOID = frozenset(
    {"area", "br", "embed", "img", "keygen", "wbr", "input", "image", "hr", "param",
     "source", "track", "base", "basefont", "bgsound", "link", "meta"}
)  # fmt: skip
_REOPENING_VOID = frozenset({"area", "br", "embed", "img", "keygen", "wbr", "input", "image"})
_MARKERS = frozenset({"applet", "marquee", "object"})
_SCRIPT_AND_RAW_TEXT = RAW_TEXT | {"script"}
_SVG_BREAKOUT = frozenset(
    {
        "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt",
        "em", "embed", "font", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i",
        "img", "li", "listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s",
        "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u", "ul",
        "var", "foreignobject", "plaintext",
    }
)  # fmt: skip


class _Uncertain(Exception):  # noqa: N818 - a signal, not an error
    """The model cannot follow the tree builder from here on."""


class _TooComplex(Exception):  # noqa: N818 - turned into an InputError
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Node:
    """An element on the stack of open elements."""

    __slots__ = ("entry", "index", "name")

    def __init__(self, name: str, entry: _Entry | None = None) -> None:
        self.name = name
        self.entry = entry
        self.index = -1


class _Entry:
    """An element in the list of active formatting elements."""

    __slots__ = ("key", "name", "node")

    def __init__(self, name: str, key: str) -> None:
        self.name = name
        self.key = key
        self.node: _Node | None = None  # None when the element is no longer open


class _TreeModel:
    """html5ever's stack of open elements and list of active formatting elements."""

    def __init__(self) -> None:
        self.stack: list[_Node] = []
        self._where: dict[str, list[int]] = {}  # name or category -> stack positions
        self._active: list[_Entry | None] = []  # None is a marker
        self.closed_entries = 0  # formatting entries that may be re-opened
        self._form: _Node | None = None
        self._in_colgroup = False
        self._in_select = False
        self._svg_root = -1
        self._reopened = 0
        self.reopen_budget = _REOPEN_ALLOWANCE
        self.deepest = 0

    @property
    def depth(self) -> int:
        """Open elements plus formatting elements that may be re-opened."""
        return len(self.stack) + self.closed_entries

    @property
    def in_svg(self) -> bool:
        """Whether the current node is inside a (simple) SVG image."""
        return self._svg_root >= 0

    # -- tokens ------------------------------------------------------------------------

    def start(self, name: str, attrs: str) -> None:
        if self._in_colgroup and self._leave_colgroup(name == "col", name == "template"):
            return
        if self._svg_root >= 0:
            self._svg_start(name, attrs)
        elif self._in_select:
            self._select_start(name)
        else:
            rule = _START_RULES.get(name)
            if rule is not None:
                rule(self, name, attrs)
            else:
                self._reopen()
                self._push(name)

    def end(self, name: str) -> None:
        if self._in_colgroup and self._leave_colgroup(
            name in ("colgroup", "col"), name == "template"
        ):
            if name == "colgroup":
                self._pop_to(len(self.stack) - 1)
                self._in_colgroup = False
            return
        if self._svg_root >= 0:
            self._svg_end(name)
        elif self._in_select:
            self._select_end(name)
        else:
            rule = _END_RULES.get(name)
            if rule is not None:
                rule(self, name)
            else:
                self._end_other(name)

    def text(self, content: str) -> None:
        blank = not content.strip("\t\n\f\r ")
        if self._in_colgroup and self._leave_colgroup(blank):
            return
        if self._svg_root >= 0:
            if self.stack[-1].name == "desc" and self.closed_entries:
                raise _Uncertain  # HTML text inside <desc> re-opens formatting elements
        elif (
            not self._in_select
            and content.strip("\x00")
            and not (blank and self._table_context()[1] in _TABLE_MODES)
        ):
            self._reopen()

    def raw(self, name: str, content: str) -> None:
        """The content of a raw-text element inside SVG, where it is not raw text.

        Without "<" it is plain text either way; SVG's <title> is an HTML integration
        point, whose text would re-open formatting elements.
        """
        if "<" in content or (name == "title" and content and self.closed_entries):
            raise _Uncertain

    def cdata(self) -> None:
        if self._svg_root >= 0:
            raise _Uncertain

    def _leave_colgroup(self, stays: bool, uncertain: bool = False) -> bool:
        """In a column group: True when the token is consumed there."""
        if stays:
            return True
        if uncertain or self.stack[-1].name != "colgroup":
            raise _Uncertain
        self._pop_to(len(self.stack) - 1)
        self._in_colgroup = False
        return False

    # -- start tags "in body" ------------------------------------------------------------

    def _start_block(self, name: str, attrs: str) -> None:
        self._close_p()
        self._push(name)

    def _start_heading(self, name: str, attrs: str) -> None:
        self._close_p()
        if self.stack and self.stack[-1].name in _HEADINGS:
            self._pop_to(len(self.stack) - 1)
        self._push(name)

    def _start_void(self, name: str, attrs: str) -> None:
        if name == "hr":
            self._close_p()
        if name in _REOPENING_VOID:
            self._reopen()
        self._push(name)
        self._pop_to(len(self.stack) - 1)

    def _start_raw_text(self, name: str, attrs: str) -> None:
        if name == "xmp":
            self._close_p()
            self._reopen()
        self._push(name)  # holds only text: popped by the end tag that always follows
        self._pop_to(len(self.stack) - 1)

    def _start_form(self, name: str, attrs: str) -> None:
        no_template = self._last("template") < 0
        if self._form is not None and no_template:
            return
        if self._table_context()[1] in _TABLE_MODES:
            if not no_template:
                return
            node = self._push(name)
            self._pop_to(len(self.stack) - 1)
        else:
            self._close_p()
            node = self._push(name)
        if no_template:
            self._form = node

    def _start_list_item(self, name: str, attrs: str) -> None:
        kinds = ("li",) if name == "li" else ("dd", "dt")
        index = max(self._last(kind) for kind in kinds)
        if index >= 0 and index >= self._last("@li-stop"):
            self._pop_to(index)
        self._close_p()
        self._push(name)

    def _start_button(self, name: str, attrs: str) -> None:
        if self._in_scope("button", "@scope"):
            self._pop_to(self._last("button"))
        self._reopen()
        self._push(name)

    def _start_option(self, name: str, attrs: str) -> None:
        if self.stack and self.stack[-1].name == "option":
            self._pop_to(len(self.stack) - 1)
        self._reopen()
        self._push(name)

    def _start_ruby(self, name: str, attrs: str) -> None:
        if self._in_scope("ruby", "@scope"):
            self._generate_implied_end_tags("rtc" if name in ("rp", "rt") else "")
        self._push(name)

    def _start_svg(self, name: str, attrs: str) -> None:
        self._reopen()
        self._push(name)
        if self_closing(attrs):
            self._pop_to(len(self.stack) - 1)
        else:
            self._svg_root = len(self.stack) - 1

    def _start_uncertain(self, name: str, attrs: str) -> None:
        raise _Uncertain

    def _start_select(self, name: str, attrs: str) -> None:
        self._reopen()
        self._push(name)
        self._in_select = True

    def _start_marker(self, name: str, attrs: str) -> None:
        if name != "template":
            self._reopen()
        self._push(name)
        self._active.append(None)

    def _close_p(self) -> None:
        if self._in_scope("p", "@button"):
            self._pop_to(self._last("p"))

    def _generate_implied_end_tags(self, keep: str = "") -> None:
        while self.stack and self.stack[-1].name in _IMPLIED_END and self.stack[-1].name != keep:
            self._pop_to(len(self.stack) - 1)

    # -- end tags "in body" --------------------------------------------------------------

    def _end_scoped(self, name: str) -> None:
        scope = {"p": "@button", "li": "@list"}.get(name, "@scope")
        if self._in_scope(name, scope):
            self._pop_to(self._last(name))
            if name in _MARKERS:
                self._clear_to_marker()
        elif name == "p":  # a stray </p> opens and closes an empty paragraph
            self._push(name)
            self._pop_to(len(self.stack) - 1)

    def _end_heading(self, name: str) -> None:
        index = self._last("@heading")
        if index >= 0 and index >= self._last("@scope"):
            self._pop_to(index)

    def _end_form(self, name: str) -> None:
        if self._last("template") >= 0:
            if self._in_scope("form", "@scope"):
                self._pop_to(self._last("form"))
            return
        node, self._form = self._form, None
        if node is None or not self._is_open(node) or node.index < self._last("@scope"):
            return
        self._generate_implied_end_tags()
        self._remove(node)

    def _end_template(self, name: str) -> None:
        if self._last("template") >= 0:
            self._pop_to(self._last("template"))
            self._clear_to_marker()

    def _end_br(self, name: str) -> None:
        self._start_void("br", "")

    def _end_ignored(self, name: str) -> None:
        return

    def _end_other(self, name: str) -> None:
        index = self._last(name)
        if index >= 0 and index >= self._last("@special"):
            self._pop_to(index)

    # -- tables --------------------------------------------------------------------------

    def _table_context(self) -> tuple[int, str]:
        """The innermost table part or template that is open, and its position."""
        best, kind = -1, ""
        for name in _TABLE_CONTEXT:
            index = self._last(name)
            if index > best:
                best, kind = index, name
        return best, kind

    def _close_cells(self, through: tuple[str, ...]) -> tuple[int, str]:
        """Close open cells, captions and the parts in ``through``; return the context."""
        index, kind = self._table_context()
        while kind in ("td", "th", "caption") or kind in through:
            self._pop_to(index)
            if kind in ("td", "th", "caption"):
                self._clear_to_marker()
            index, kind = self._table_context()
        return index, kind

    def _start_table_part(self, name: str, attrs: str) -> None:
        if name == "table":
            self._start_table()
            return
        through = {"td": (), "th": (), "tr": ("tr",)}.get(name, ("tr", "tbody", "thead", "tfoot"))
        index, kind = self._close_cells(through)
        if not kind:
            return  # outside a table: ignored
        if kind == "template" and name == "col":
            raise _Uncertain  # a column group in a template ignores almost everything
        self._pop_to(index + 1)
        if name in ("td", "th", "tr"):
            if kind == "table":
                self._push("tbody")
            if kind in ("table", "tbody", "thead", "tfoot") and name != "tr":
                self._push("tr")
        elif kind not in ("table", "template"):
            return
        if name in ("td", "th", "caption"):
            self._push(name)
            self._active.append(None)
        elif name in ("colgroup", "col"):
            self._push("colgroup")
            self._in_colgroup = True
        else:
            self._push(name)

    def _start_table(self) -> None:
        _, kind = self._table_context()
        while kind in _TABLE_MODES:
            if not self._in_scope("table", "@table"):
                return  # a table part inside <template>: ignored
            self._close_cells(())
            self._pop_to(self._last("table"))
            _, kind = self._table_context()
        self._close_p()
        self._push("table")

    def _end_table_part(self, name: str) -> None:
        if name in ("col",) or not self._in_scope(name, "@table"):
            return
        _, kind = self._table_context()
        if kind == "caption" and name != "caption":
            if name != "table":
                return
            self._close_cells(())
        if kind in ("td", "th") and name not in ("td", "th"):
            if name in ("caption", "colgroup"):
                return
            self._close_cells(())
        self._pop_to(self._last(name))
        if name in ("td", "th", "caption"):
            self._clear_to_marker()

    # -- formatting elements ---------------------------------------------------------------

    def _start_formatting(self, name: str, attrs: str) -> None:
        if name == "a":
            current = self._current_entry("a")
            if current is not None:
                self._adoption_agency("a")
                if current in self._active:
                    node = current.node
                    self._forget(current)
                    if node is not None:
                        self._remove(node)
        self._reopen()
        if name == "nobr" and self._in_scope("nobr", "@scope"):
            self._adoption_agency("nobr")
            self._reopen()
        key = name + " " + attrs.strip("\t\n\f\r /")
        entries = list(self._entries_after_marker())
        if len(entries) >= _MAX_FORMATTING_ENTRIES:
            raise _TooComplex("has too many unclosed formatting tags")
        same = [entry for entry in entries if entry.key == key]
        if len(same) >= 3:
            self._forget(same[-1])  # the earliest of them
        entry = _Entry(name, key)
        self._active.append(entry)
        entry.node = self._push(name, entry)

    def _end_formatting(self, name: str) -> None:
        self._adoption_agency(name)

    def _adoption_agency(self, subject: str) -> None:
        """The HTML standard's adoption agency algorithm, on the stack and the list."""
        stack = self.stack
        if stack and stack[-1].name == subject and stack[-1].entry is None:
            self._pop_to(len(stack) - 1)
            return
        for _ in range(8):
            element = self._current_entry(subject)
            if element is None:
                self._end_other(subject)
                return
            node = element.node
            if node is None:
                self._forget(element)
                return
            if node.index < self._last("@scope"):
                return
            specials = self._where.get("@special", [])
            after = bisect.bisect_right(specials, node.index)
            if after == len(specials):
                self._forget(element)
                self._pop_to(node.index)
                return
            furthest = specials[after]
            between = stack[node.index + 1 : furthest]
            kept: list[_Node] = []
            anchor: _Entry | None = None
            for count, other in enumerate(reversed(between), start=1):
                if count > 3 and other.entry is not None:
                    self._forget(other.entry)
                if other.entry is None:
                    continue
                clone = _Entry(other.entry.name, other.entry.key)
                self._active[self._active.index(other.entry)] = clone
                other.entry.node = None
                clone.node = _Node(clone.name, clone)
                kept.insert(0, clone.node)
                if anchor is None:
                    anchor = clone
            replacement = _Entry(element.name, element.key)
            replacement.node = _Node(element.name, replacement)
            if anchor is None:
                self._active[self._active.index(element)] = replacement
            else:
                self._active.remove(element)
                self._active.insert(self._active.index(anchor) + 1, replacement)
            element.node = None
            suffix = [*kept, stack[furthest], replacement.node, *stack[furthest + 1 :]]
            self._rebuild(node.index, suffix)

    def _entries_after_marker(self) -> Iterator[_Entry]:
        """Active formatting entries after the last marker, latest first."""
        for entry in reversed(self._active):
            if entry is None:
                return
            yield entry

    def _current_entry(self, name: str) -> _Entry | None:
        for entry in self._entries_after_marker():
            if entry.name == name:
                return entry
        return None

    def _reopen(self) -> None:
        """Re-open formatting elements closed by misnesting (html5ever "reconstructs")."""
        active = self._active
        first = len(active)
        while first > 0:
            entry = active[first - 1]
            if entry is None or entry.node is not None:
                break
            first -= 1
        for entry in active[first:]:
            if entry is not None:
                self.closed_entries -= 1
                entry.node = self._push(entry.name, entry)
                self._reopened += 1
        if self._reopened > self.reopen_budget:
            raise _TooComplex("has too many misnested formatting tags")

    def _forget(self, entry: _Entry) -> None:
        """Remove an entry from the list of active formatting elements."""
        self._active.remove(entry)
        if entry.node is None:
            self.closed_entries -= 1
        else:
            entry.node.entry = None
            entry.node = None

    def _clear_to_marker(self) -> None:
        while self._active:
            entry = self._active[-1]
            if entry is None:
                self._active.pop()
                return
            self._forget(entry)

    # -- SVG and <select> with simple content --------------------------------------------

    def _svg_start(self, name: str, attrs: str) -> None:
        if name in _SVG_BREAKOUT or self.stack[-1].name == "desc":
            raise _Uncertain
        if name not in _SCRIPT_AND_RAW_TEXT:
            self._push(name)
            if self_closing(attrs):
                self._pop_to(len(self.stack) - 1)

    def _svg_end(self, name: str) -> None:
        if name in _SCRIPT_AND_RAW_TEXT:
            return  # read as a leaf: its content was checked to be plain text
        index = self._last(name)
        if name in ("p", "br") or index < self._svg_root:
            raise _Uncertain  # would close HTML elements around the image
        self._pop_to(index)

    def _select_start(self, name: str) -> None:
        if name not in ("option", "optgroup", "hr"):
            raise _Uncertain
        if self.stack[-1].name == "option":
            self._pop_to(len(self.stack) - 1)
        if name != "option" and self.stack[-1].name == "optgroup":
            self._pop_to(len(self.stack) - 1)
        self._push(name)
        if name == "hr":
            self._pop_to(len(self.stack) - 1)

    def _select_end(self, name: str) -> None:
        stack = self.stack
        if name == "select":
            self._pop_to(self._last("select"))
        elif name == "option" and stack[-1].name == "option":
            self._pop_to(len(stack) - 1)
        elif name == "optgroup":
            if stack[-1].name == "option" and len(stack) > 1 and stack[-2].name == "optgroup":
                self._pop_to(len(stack) - 1)
            if stack[-1].name == "optgroup":
                self._pop_to(len(stack) - 1)
        elif name not in ("option", "optgroup"):
            raise _Uncertain

    # -- the stack of open elements ------------------------------------------------------

    def _last(self, key: str) -> int:
        found = self._where.get(key)
        return found[-1] if found else -1

    def _in_scope(self, name: str, scope: str) -> bool:
        index = self._last(name)
        return index >= 0 and index >= self._last(scope)

    def _push(self, name: str, entry: _Entry | None = None) -> _Node:
        node = _Node(name, entry)
        self._push_node(node)
        self._check_depth()
        return node

    def _push_node(self, node: _Node) -> None:
        node.index = len(self.stack)
        self.stack.append(node)
        where = self._where
        where.setdefault(node.name, []).append(node.index)
        for category in _CATEGORIES.get(node.name, ()):
            where.setdefault(category, []).append(node.index)

    def _pop_node(self) -> _Node:
        node = self.stack.pop()
        where = self._where
        where[node.name].pop()
        for category in _CATEGORIES.get(node.name, ()):
            where[category].pop()
        return node

    def _pop_to(self, index: int) -> None:
        """Pop the elements at ``index`` and above."""
        while len(self.stack) > index:
            node = self._pop_node()
            entry = node.entry
            if entry is not None and entry.node is node:
                entry.node = None
                self.closed_entries += 1
        if self._svg_root >= len(self.stack):
            self._svg_root = -1
        if self._in_select and self._last("select") < 0:
            self._in_select = False
        if self._in_colgroup and self._last("colgroup") < 0:
            self._in_colgroup = False

    def _rebuild(self, index: int, nodes: list[_Node]) -> None:
        """Replace the elements at ``index`` and above with ``nodes``."""
        while len(self.stack) > index:
            self._pop_node()
        for node in nodes:
            self._push_node(node)
        self._check_depth()

    def _remove(self, node: _Node) -> None:
        """Remove one element from the middle of the stack."""
        self._rebuild(node.index, self.stack[node.index + 1 :])

    def _is_open(self, node: _Node) -> bool:
        return 0 <= node.index < len(self.stack) and self.stack[node.index] is node

    def _check_depth(self) -> None:
        depth = self.depth
        if depth > self.deepest:
            self.deepest = depth
            if depth > _MAX_OPEN_ELEMENTS:
                raise _TooComplex(f"nests more than {_MAX_OPEN_ELEMENTS} elements deep")


_R = TypeVar("_R")
_StartRule = Callable[[_TreeModel, str, str], None]
_EndRule = Callable[[_TreeModel, str], None]


def _rules(*groups: tuple[Iterable[str], _R]) -> dict[str, _R]:
    return {name: rule for names, rule in groups for name in names}


_START_RULES: dict[str, _StartRule] = _rules(
    (_IGNORED, lambda model, name, attrs: None),
    (_CLOSES_P, _TreeModel._start_block),
    (_HEADINGS, _TreeModel._start_heading),
    (_FORMATTING, _TreeModel._start_formatting),
    (_TABLE_PARTS, _TreeModel._start_table_part),
    (_VOID, _TreeModel._start_void),
    (_SCRIPT_AND_RAW_TEXT | {"xmp"}, _TreeModel._start_raw_text),
    (("form",), _TreeModel._start_form),
    (("li", "dd", "dt"), _TreeModel._start_list_item),
    (("button",), _TreeModel._start_button),
    (("option", "optgroup"), _TreeModel._start_option),
    (("rb", "rtc", "rp", "rt"), _TreeModel._start_ruby),
    (("svg",), _TreeModel._start_svg),
    (("math",), _TreeModel._start_uncertain),
    (("select",), _TreeModel._start_select),
    (_MARKERS | {"template"}, _TreeModel._start_marker),
)
_END_RULES: dict[str, _EndRule] = _rules(
    (_SCOPED_END, _TreeModel._end_scoped),
    (_FORMATTING, _TreeModel._end_formatting),
    (_HEADINGS, _TreeModel._end_heading),
    (_TABLE_PARTS, _TreeModel._end_table_part),
    (("form",), _TreeModel._end_form),
    (("template",), _TreeModel._end_template),
    (("br",), _TreeModel._end_br),
    (("body", "html"), _TreeModel._end_ignored),
)


def check_structure(text: str) -> None:
    """Refuse HTML whose parsing would cost quadratic time (see the module docstring)."""
    if text.count("<") <= _SMALL_DOCUMENT_TAGS:
        return
    model = _TreeModel()
    position = 0
    try:
        for kind, name, attrs, start, end in tokens(text):
            position = start
            _feed(model, (kind, name, attrs, start, end), text)
    except _Uncertain:
        possible = len(START_TAG_LIKE.findall(text, position))
        if model.depth + possible > _MAX_OPEN_ELEMENTS:
            _refuse(text, position, f"nests more than {_MAX_OPEN_ELEMENTS} elements deep")
    except _TooComplex as problem:
        _refuse(text, position, problem.message)


def _feed(model: _TreeModel, token: Token, text: str) -> None:
    kind, name, attrs, start, end = token
    model.reopen_budget += _REOPEN_PER_TOKEN
    if kind == "start":
        model.start(name, attrs)
    elif kind == "end":
        model.end(name)
    elif kind == "text":
        model.text(text[start:end])
    elif kind == "raw":
        if model.in_svg:
            model.raw(name, text[start:end])
    else:
        model.cdata()


def _refuse(text: str, position: int, problem: str) -> None:
    line = text.count("\n", 0, position) + 1
    raise InputError("too_complex", f"the HTML {problem} (near line {line})", line=line)
