"""Plain text and HTML kept apart by type.

Every string of an :class:`~worker.core.model.Article` is plain text. A value that
goes into an HTML context (RSS ``description`` and ``content:encoded``, Atom
``type="html"``, JSON Feed ``content_html``, the ``/feeds/`` page) must be an
:class:`Html`, and only this module makes one:

* :func:`escape` turns text into HTML that displays exactly that text;
* :func:`element` wraps escaped text in one of the few elements feeds use
  (:data:`CONTENT_TAGS`, no attributes at all): it is the allow-list of every
  HTML field syndicate writes;
* :func:`join` and :func:`fill` assemble pieces that are already :class:`Html`.

A plain ``str`` is refused where :class:`Html` is expected (by mypy, and by the
constructor at run time), so forgetting to escape is a type error, not a
``<script>`` in a reader.

:func:`plain_text` is the other direction: text for a slot that can only hold
plain text (see ``docs/feeds.md`` for why it changes ``</b>`` into ``< /b>``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Final, Literal, LiteralString, final, get_args

ContentTag = Literal["div", "p", "h2", "ul", "li", "em"]
#: The only elements an HTML field of a feed contains.
CONTENT_TAGS: Final = frozenset(get_args(ContentTag))

_KEY: Final = object()
_WHITESPACE = re.compile(r"\s*")
#: What the W3C Feed Validation Service reads as HTML in a plain-text element: an end
#: tag (``</b>``) or, in a person's name, an e-mail address in angle brackets.
_END_TAG_OR_ADDRESS = re.compile(r"<(?=/\w+>|[\w.+'-]+@[\w.-]+>)")


@final
class Html:
    """A fragment of HTML that is safe to put in an HTML context as it is.

    Made only by :func:`escape`, :func:`element`, :func:`join` and :func:`fill`. It
    has no ``__str__`` on purpose: interpolating it into a string would silently give
    a ``str`` again; read :attr:`markup` where the markup is written out.
    """

    __slots__ = ("_markup",)

    def __init__(self, markup: str, key: object) -> None:
        if key is not _KEY:
            raise TypeError("Html is made by escape(), element(), join() or fill() only")
        self._markup = markup

    @property
    def markup(self) -> str:
        """The HTML source."""
        return self._markup

    def __str__(self) -> str:
        raise TypeError("an Html value is not text: use .markup to write it out")

    def __repr__(self) -> str:
        return f"Html({self._markup!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Html) and other.markup == self._markup

    def __hash__(self) -> int:
        return hash(self._markup)

    def __bool__(self) -> bool:
        return bool(self._markup)


def escape(text: str) -> Html:
    """HTML text content that displays ``text`` exactly."""
    return Html(html.escape(text, quote=False), _KEY)


def element(tag: ContentTag, *children: Html | str) -> Html:
    """``<tag>children</tag>``: text children are escaped, no attributes exist."""
    if tag not in CONTENT_TAGS:
        raise ValueError(f"<{tag}> is not one of the content elements {sorted(CONTENT_TAGS)}")
    inner = "".join(
        child.markup if isinstance(child, Html) else html.escape(child, quote=False)
        for child in children
    )
    return Html(f"<{tag}>{inner}</{tag}>", _KEY)


def join(parts: Iterable[Html], separator: str = "\n") -> Html:
    """The parts one after the other, separated by whitespace."""
    if not _WHITESPACE.fullmatch(separator):
        raise ValueError(f"a separator is whitespace, got {separator!r}")
    return Html(separator.join(part.markup for part in parts), _KEY)


def fill(template: LiteralString, **values: Html | str) -> Html:
    """A fixed template with ``{name}`` fields: text values are escaped, Html kept.

    ``template`` is a literal in the source (the markup of a page), never data. Text
    values may stand in attribute values (quotes are escaped too); Html values only in
    element content.
    """
    filled = {
        name: value.markup if isinstance(value, Html) else html.escape(value, quote=True)
        for name, value in values.items()
    }
    return Html(template.format(**filled), _KEY)


def plain_text(text: str) -> str:
    """``text`` for an element that holds plain text only (RSS ``title``, ``category``;
    Atom ``name``, category ``label``).

    Such an element cannot carry an HTML end tag or an ``<address@host>`` without the
    validator reading it as markup, whatever the XML escaping. A space after the
    ``<`` keeps every character visible and makes it text again.
    """
    return _END_TAG_OR_ADDRESS.sub("< ", text)


def needs_html(text: str) -> bool:
    """Whether ``text`` holds characters a plain-text construct could be misread by."""
    return "<" in text or "&" in text
