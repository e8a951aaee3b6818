"""The W3C Feed Validation Service's rules for text and HTML, checked offline.

The service (github.com/w3c/feedvalidator) is not installable here. This module
re-states, in its own code, the checks the service applies to the elements syndicate
fills with article text, so that "0 errors and 0 warnings" can be tested. Each check
names the rule it mirrors (files and classes under ``src/feedvalidator/``); every
finding named here is a *warning* at the service's default level, so any finding
fails the claim.

Where this mirror departs from the service it is stricter, never looser:

* ``nonhtml`` counts ``</word>`` as an HTML end tag only for names in the service's
  list of HTML elements; here every word counts;
* ``HTMLValidator`` allows a long list of elements and attributes; here an HTML field
  may hold only :data:`ALLOWED_TAGS` (what syndicate writes) and no attribute at all;
* the strict HTML5 parse that finds ``NotHtml`` runs on fields up to
  :data:`STRICT_PARSE_LIMIT` characters (html5lib takes seconds per megabyte); longer
  fields get the element checks only, through lxml.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.entities import name2codepoint

import html5lib
from html5lib.html5parser import ParseError
from lxml import etree
from lxml import html as lxml_html

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
#: The elements syndicate's HTML fields may contain (its own allow-list, kept here
#: independently of feeds/markup.py so that a change there is caught).
ALLOWED_TAGS = frozenset({"div", "p", "h2", "ul", "li", "em"})
STRICT_PARSE_LIMIT = 64 * 1024

_END_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&(#?\w+)")
_RSS_PROFILE_MARKUP = re.compile(r"&#[x0-9]|<[/a-zA-Z]")
_ADDRESS_IN_BRACKETS = re.compile(r"<[\w.+'-]+@[\w.-]+>")
_BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")


@dataclass(frozen=True, slots=True)
class Finding:
    """One message the service would give: its rule (message class) and where."""

    rule: str
    where: str
    value: str

    def __str__(self) -> str:
        return f"{self.rule} in {self.where}: {self.value[:80]!r}"


def findings(kind: str, document: bytes) -> list[Finding]:
    """The messages of the mirrored rules for an ``atom`` or ``rss`` document."""
    root = etree.fromstring(document)
    lines = document.decode("utf-8").split("\n")
    return _atom(root, lines) if kind == "atom" else _rss(root, lines)


# ------------------------------------------------------------------------------- RSS


def _rss(root: etree._Element, lines: list[str]) -> list[Finding]:
    found: list[Finding] = []
    channel = root.find("channel")
    assert channel is not None
    # channel.py: title is ``title(nonhtml)`` and ``nonblank``; description ``nonhtml``.
    for element in channel.findall("title"):
        found += _nonhtml(element, lines, rss=True) + _nonblank(element)
    for element in channel.findall("description"):
        found += _nonhtml(element, lines, rss=True)
    for item in channel.findall("item"):
        # item.py: title is nonhtml and nonblank; category (class category) is nonhtml
        # and nonblank; description and content:encoded are safeHtml (HTMLValidator).
        for element in item.findall("title") + item.findall("category"):
            found += _nonhtml(element, lines, rss=True) + _nonblank(element)
        for element in item.findall("description") + item.findall(CONTENT_ENCODED):
            found += _safe_html(element.text or "", _where(element))
    return found


# ------------------------------------------------------------------------------ Atom


def _atom(root: etree._Element, lines: list[str]) -> list[Finding]:
    found: list[Finding] = []
    for parent in [root, *root.findall(f"{ATOM}entry")]:
        for name in ("title", "subtitle", "rights", "summary", "content"):
            for element in parent.findall(f"{ATOM}{name}"):
                found += _text_construct(element, lines)
        # author.py: name is nonhtml, nonemail and nonblank.
        for element in parent.findall(f"{ATOM}author/{ATOM}name"):
            found += _nonhtml(element, lines, rss=False) + _nonemail(element)
            found += _nonblank(element)
        # category.py: the label attribute is nonhtml.
        for element in parent.findall(f"{ATOM}category"):
            label = element.get("label")
            if label is not None:
                where = f"{_where(element)}/@label"
                found += _nonhtml_value(label, _lines_of(element, lines), False, where)
    return found


def _text_construct(element: etree._Element, lines: list[str]) -> list[Finding]:
    """content.py, class textConstruct: by ``type``, and never blank."""
    kind = element.get("type", "text")
    value = element.text or ""
    where = _where(element)
    found = [Finding("BadCharacters", where, c) for c in _BAD_CHARACTERS.findall(value)[:1]]
    if kind == "html":
        found += _safe_html(value, where)
    elif kind == "text":
        found += _nonhtml_value(
            value, _lines_of(element, lines), False, where, rule="ContainsUndeclaredHTML"
        )
    else:
        found.append(Finding("unexpected type (not mirrored)", where, kind))
    if not value and len(element) == 0 and element.get("src") is None:
        found.append(Finding("NotBlank", where, value))
    return found


# ----------------------------------------------------------------------------- rules


def _nonhtml(element: etree._Element, lines: list[str], *, rss: bool) -> list[Finding]:
    return _nonhtml_value(element.text or "", _lines_of(element, lines), rss, _where(element))


def _nonhtml_value(
    value: str, source: list[str], rss: bool, where: str, rule: str = "ContainsHTML"
) -> list[Finding]:
    """validators.py, class nonhtml: plain text that looks like HTML.

    Three checks, the first that applies decides: an end tag; else character or
    entity references written as text (``&amp;`` ``&#60;``), unless the element's
    source lines use hexadecimal references (the RSS Profile's encoding, which the
    service takes as a sign of careful escaping); else, in RSS 2.0 only, ``&#`` or
    ``<`` followed by a letter or ``/``, with the same exception (CharacterData:
    "Encode & and < in plain text using hexadecimal character references").
    """
    hexadecimal = any("&#x" in line for line in source)
    end_tag = _END_TAG.search(value)
    if end_tag:
        return [Finding(rule, where, end_tag.group(0))]
    references = _ENTITY.findall(value)
    if references:
        named = [r for r in references if r in name2codepoint or r == "apos" or not r.isalpha()]
        return [Finding(rule, where, "&" + named[0] + ";")] if named and not hexadecimal else []
    if rss and _RSS_PROFILE_MARKUP.search(value) and not hexadecimal:
        return [Finding("CharacterData", where, value)]
    return []


def _nonemail(element: etree._Element) -> list[Finding]:
    """validators.py, class nonemail: an ``<address@host>`` in a name (ContainsEmail)."""
    found = _ADDRESS_IN_BRACKETS.search(element.text or "")
    return [Finding("ContainsEmail", _where(element), found.group(0))] if found else []


def _nonblank(element: etree._Element) -> list[Finding]:
    """validators.py, class nonblank (NotBlank)."""
    return [] if element.text else [Finding("NotBlank", _where(element), "")]


def _safe_html(value: str, where: str) -> list[Finding]:
    """validators.py, class HTMLValidator (safeHtml and Atom ``type="html"``).

    The service parses the field as an HTML5 fragment in strict mode (a parse error
    is NotHtml), then flags elements and attributes outside its allow-lists
    (SecurityRisk, SecurityRiskAttr) and ``<?import``.
    """
    found = []
    if "<?import " in value.lower():
        found.append(Finding("SecurityRisk", where, "?import"))
    if len(value) <= STRICT_PARSE_LIMIT:
        try:
            html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(value)
        except ParseError as error:
            found.append(Finding("NotHtml", where, f"{error}: {value[:60]}"))
    for tag, attributes in html_elements(value):
        if tag not in ALLOWED_TAGS:
            found.append(Finding("SecurityRisk", where, f"<{tag}>"))
        found += [Finding("SecurityRiskAttr", where, f"<{tag} {name}=>") for name in attributes]
    return found


def html_fields(kind: str, document: bytes) -> list[str]:
    """Every HTML field of a document, as its markup (what a reader parses as HTML):
    RSS description and content:encoded, Atom ``type="html"``, JSON ``content_html``."""
    if kind == "json":
        return [str(item.get("content_html", "")) for item in json.loads(document)["items"]]
    root = etree.fromstring(document)
    if kind == "rss":
        elements = root.findall("channel/item/description") + root.findall(
            f"channel/item/{CONTENT_ENCODED}"
        )
    else:
        elements = [element for element in root.iter() if element.get("type") == "html"]
    return [element.text or "" for element in elements]


def visible_text(value: str) -> str:
    """The text a reader shows for an HTML fragment."""
    if not value.strip():
        return ""
    return str(lxml_html.fragment_fromstring(value, create_parent="div").text_content())


def html_elements(value: str) -> list[tuple[str, list[str]]]:
    """(tag, attribute names) of every element of an HTML fragment, as a browser parses it."""
    if not value.strip():
        return []
    root = lxml_html.fragment_fromstring(value, create_parent="div")
    return [
        (str(element.tag), list(element.attrib))
        for element in root.iter()
        if isinstance(element.tag, str) and element is not root
    ]


# ---------------------------------------------------------------------------- helpers


def _lines_of(element: etree._Element, lines: list[str]) -> list[str]:
    """The source lines an element spans (the service's ``rssCharData`` window)."""
    first = (element.sourceline or 1) - 1
    span = etree.tostring(element, with_tail=False).count(b"\n")
    return lines[first : first + span + 1]


def _where(element: etree._Element) -> str:
    names = []
    node: etree._Element | None = element
    while node is not None:
        names.append(etree.QName(node).localname)
        node = node.getparent()
    return "/".join(reversed(names)) + f" (line {element.sourceline})"
