"""Rendering feeds: RSS 2.0 and Atom 1.0 with feedgen, JSON Feed 1.1 by hand.

Pure functions: the same articles give the same bytes, every time. Known feedgen
1.0.0 faults and how they are handled here:

* timestamps default to *now* (bytes change on every build): every time is set from
  the articles, and an empty feed uses the Unix epoch;
* ``add_entry`` prepends: entries are added with ``order="append"``;
* RSS output drops the hub link: it is added to the channel afterwards;
* RSS ``<link>`` is the last link added and Atom entry links lose their attributes but
  ``href``: each entry gets exactly one link, the alternate one (a link without
  ``rel`` is the alternate link in RFC 4287);
* Atom does not enforce an author: every entry has one (the feed's publisher when the
  article names none);
* RSS ``<author>`` needs an e-mail address: names go into ``dc:creator``.

Plain text and HTML (see ``docs/feeds.md``): article fields are plain text; HTML
fields (RSS ``description`` and ``content:encoded``, Atom ``content``, JSON Feed
``content_html``) take only :class:`~feeds.markup.Html`. Atom text constructs holding
``<`` or ``&`` become ``type="html"`` with the text escaped once more; plain-text-only
elements go through :func:`~feeds.markup.plain_text`; both XML documents write ``&``,
``<`` and ``>`` as hexadecimal character references (the RSS Best Practices Profile).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.markup import Html, element, escape, join, needs_html, plain_text
from worker.core.model import Article
from worker.core.normalize import slugify

#: An entry's summary and content as HTML, computed once for every format.
EntryHtml = tuple[Html, Html]

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
FEED_FILES = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json"}
MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
#: Entry ids are UUIDs derived from the article id in this namespace, so they never
#: change when the article's URL, title or site address (http → https) changes.
ENTRY_NAMESPACE = uuid.UUID("6f1d5a0e-7c1b-5b8e-9a55-2f1c0d7e3a41")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT_CONSTRUCTS = tuple(f"{{{ATOM_NS}}}{name}" for name in ("title", "subtitle", "rights"))


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """Which feed this is and where it lives.

    ``folder_url`` is the absolute URL of the feed's folder (ending in ``/``), e.g.
    ``https://example.com/feeds/`` or ``https://example.com/feeds/authors/ada/``.
    """

    key: str
    title: str
    description: str
    site_url: str
    folder_url: str
    publisher: str
    hub_url: str | None = None
    language: str = "en"
    #: RFC 5005 links, as folder URLs: the subscription documents (set only on an
    #: archive page), the next older and the next newer archive page.
    current_url: str | None = None
    prev_archive_url: str | None = None
    next_archive_url: str | None = None

    def self_url(self, kind: str) -> str:
        """The exact absolute URL of this feed in format ``kind``."""
        return self.folder_url + FEED_FILES[kind]

    @property
    def is_archive(self) -> bool:
        """Whether this is an immutable archive page rather than the subscription document."""
        return self.current_url is not None

    def history_links(self, kind: str) -> list[tuple[str, str]]:
        """(rel, href) of the RFC 5005 links in format ``kind``."""
        folders = [
            ("current", self.current_url),
            ("prev-archive", self.prev_archive_url),
            ("next-archive", self.next_archive_url),
        ]
        return [(rel, folder + FEED_FILES[kind]) for rel, folder in folders if folder]


def entry_id(article: Article) -> str:
    """The permanent id of an article's entry in every format."""
    return _entry_id_of(article.id)


@lru_cache(maxsize=8192)
def _entry_id_of(article_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, article_id)}"


def feed_id(spec: FeedSpec) -> str:
    """The permanent id of a feed (Atom ``<id>``)."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, 'feed:' + spec.key)}"


def entry_link(article: Article, site_url: str) -> str:
    """The article's own URL, else the site URL plus its slug."""
    return article.url or f"{site_url.rstrip('/')}/{article.slug}"


def feed_updated(articles: Sequence[Article]) -> datetime:
    """The newest entry's time (never "now"); the epoch for an empty feed."""
    return max((_updated(article) for article in articles), default=_EPOCH)


def content_html(article: Article) -> Html:
    """The article as HTML: description, metadata, then each section; never blank
    (an article with nothing but a title has its title as content)."""
    parts = [element("p", article.description)] if article.description else []
    facts = _facts(article)
    if facts:
        parts.append(element("ul", *(element("li", f"{label}: {value}") for label, value in facts)))
    for section in article.sections:
        if section.heading:
            parts.append(element("h2", section.heading))
        if section.summary:
            parts.append(element("p", element("em", section.summary)))
        parts.extend(element("p", paragraph) for paragraph in section.paragraphs)
    return join(parts or [element("p", article.title)])


def summary_text(article: Article) -> str:
    """The entry's summary as plain text: summary, else description, else title."""
    return article.summary or article.description or article.title


def summary_html(article: Article) -> Html:
    """The entry's summary as HTML (RSS ``description``)."""
    return element("p", summary_text(article))


def render_atom(spec: FeedSpec, articles: Sequence[Article]) -> bytes:
    """An Atom 1.0 document (RFC 4287)."""
    return _atom(spec, articles, _entry_html(articles))


def _atom(spec: FeedSpec, articles: Sequence[Article], html: list[EntryHtml]) -> bytes:
    generator = _generator(spec, "atom")
    generator.id(feed_id(spec))
    generator.updated(feed_updated(articles))
    generator.link(href=spec.self_url("atom"), rel="self", type="application/atom+xml")
    generator.link(href=spec.site_url, rel="alternate", type="text/html")
    if spec.hub_url:
        generator.link(href=spec.hub_url, rel="hub")
    generator.author({"name": plain_text(spec.publisher)})
    dated = zip(articles, html, _distinct_updated(articles), strict=True)
    for article, (summary, content), updated in dated:
        # The title stays exact: _finish makes it type="html" where it needs to be.
        entry = _entry(generator, article, article.title, summary, content)
        entry.link(href=entry_link(article, spec.site_url), rel="alternate", type="text/html")
        entry.updated(updated)
        for name in article.authors or (spec.publisher,):
            entry.author({"name": plain_text(name)})
        for tag in article.tags:
            entry.category(term=slugify(tag) or tag, label=plain_text(tag))
    document: bytes = generator.atom_str(pretty=True)
    return _finish(document, spec, "atom")


def render_rss(spec: FeedSpec, articles: Sequence[Article]) -> bytes:
    """An RSS 2.0 document with ``atom:link`` self and hub links."""
    return _rss(spec, articles, _entry_html(articles))


def _rss(spec: FeedSpec, articles: Sequence[Article], html: list[EntryHtml]) -> bytes:
    generator = _generator(spec, "rss")
    generator.load_extension("dc")
    # feedgen writes the last link added as the channel's <link>: the alternate one.
    generator.link(href=spec.self_url("rss"), rel="self", type="application/rss+xml")
    generator.link(href=spec.site_url, rel="alternate")
    generator.lastBuildDate(feed_updated(articles))
    generator.ttl(15)
    for article, (summary, content) in zip(articles, html, strict=True):
        entry = _entry(generator, article, plain_text(article.title), summary, content)
        entry.guid(entry_id(article), permalink=False)
        entry.link(href=entry_link(article, spec.site_url))
        for name in article.authors:
            entry.dc.dc_creator(name)  # dc:creator is text the validator does not read as HTML
        for tag in article.tags:
            entry.category(term=plain_text(tag))
    document: bytes = generator.rss_str(pretty=True)
    return _finish(document, spec, "rss")


def render_json_feed(spec: FeedSpec, articles: Sequence[Article]) -> bytes:
    """A JSON Feed 1.1 document."""
    return _json_feed(spec, articles, _entry_html(articles))


def _json_feed(spec: FeedSpec, articles: Sequence[Article], html: list[EntryHtml]) -> bytes:
    feed: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": spec.site_url,
        "feed_url": spec.self_url("json"),
        "description": spec.description,
        "language": spec.language,
        "authors": [{"name": spec.publisher}],
    }
    if spec.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": spec.hub_url}]
    if spec.prev_archive_url:
        feed["next_url"] = spec.prev_archive_url + FEED_FILES["json"]  # older items
    feed["items"] = [
        _json_item(spec, article, content)
        for article, (_, content) in zip(articles, html, strict=True)
    ]
    # msgspec writes the same bytes as json.dumps(ensure_ascii=False, indent=2), in C.
    return msgspec.json.format(msgspec.json.encode(feed), indent=2) + b"\n"


def render_all(spec: FeedSpec, articles: Sequence[Article]) -> dict[str, bytes]:
    """The feed in every format, keyed like :data:`FEED_FILES`."""
    html = _entry_html(articles)  # once for the three formats: the costliest part
    return {
        "atom": _atom(spec, articles, html),
        "rss": _rss(spec, articles, html),
        "json": _json_feed(spec, articles, html),
    }


def _entry_html(articles: Sequence[Article]) -> list[EntryHtml]:
    return [_cached_entry_html(article) for article in articles]


# An article's HTML is the costliest part of a render, and each publish run renders the
# same articles again (in several feeds, and in the next run): it is kept, by a digest
# of the article's exact JSON, so any change to the article is a new key.
_HTML_CACHE_SIZE = 512
_html_cache: dict[bytes, EntryHtml] = {}


def _cached_entry_html(article: Article) -> EntryHtml:
    key = hashlib.blake2b(msgspec.json.encode(article), digest_size=16).digest()
    found = _html_cache.get(key)
    if found is None:
        found = (summary_html(article), content_html(article))
        if len(_html_cache) >= _HTML_CACHE_SIZE:
            _html_cache.pop(next(iter(_html_cache)))  # the oldest entry
        _html_cache[key] = found
    return found


def _generator(spec: FeedSpec, kind: str) -> FeedGenerator:
    # Atom's title and subtitle are text constructs (_finish types them); RSS has none.
    title, description = spec.title, spec.description or spec.title
    if kind == "rss":
        title, description = plain_text(title), plain_text(description)
    generator = FeedGenerator()
    generator.title(title)
    generator.description(description)
    generator.language(spec.language)
    generator.generator("syndicate")
    return generator


def _entry(
    generator: FeedGenerator, article: Article, title: str, summary: Html, content: Html
) -> Any:
    entry = generator.add_entry(order="append")
    entry.id(entry_id(article))
    entry.title(title)
    entry.published(_published(article))
    _html_fields(entry, summary, content)
    return entry


def _html_fields(entry: Any, summary: Html, content: Html) -> None:
    """The entry's HTML contexts: RSS description and content:encoded, Atom content."""
    entry.description(summary.markup)  # also Atom content, replaced on the next line
    entry.content(content.markup, type="html")


def _distinct_updated(articles: Sequence[Article]) -> list[datetime]:
    """Entry update times, made distinct by a microsecond where two coincide.

    Feed validators warn about two Atom entries with the same ``updated`` (as happens
    when many articles are imported with the same date); a microsecond earlier keeps
    the order and the meaning, and is the same on every render.
    """
    used: set[datetime] = set()
    distinct = []
    for article in articles:
        moment = _updated(article)
        while moment in used:
            moment -= timedelta(microseconds=1)
        used.add(moment)
        distinct.append(moment)
    return distinct


def _published(article: Article) -> datetime:
    return article.published or article.updated or _EPOCH


def _updated(article: Article) -> datetime:
    return article.updated or article.published or _EPOCH


def _facts(article: Article) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if article.metadata.release_year is not None:
        facts.append(("Release year", str(article.metadata.release_year)))
    rating = article.metadata.rating
    if rating is not None:
        facts.append(("Rating", f"{rating.value:g}/{rating.scale:g}"))
    facts.extend(article.metadata.extra.items())
    return facts


def _json_item(spec: FeedSpec, article: Article, content: Html) -> dict[str, object]:
    item: dict[str, object] = {
        "id": entry_id(article),
        "url": entry_link(article, spec.site_url),
        "title": article.title,
        "content_html": content.markup,
        "summary": summary_text(article),
        "date_published": _rfc3339(_published(article)),
        "date_modified": _rfc3339(_updated(article)),
        "authors": [{"name": name} for name in article.authors or (spec.publisher,)],
        "language": article.language,
    }
    if article.tags:
        item["tags"] = list(article.tags)
    return item


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _finish(document: bytes, spec: FeedSpec, kind: str) -> bytes:
    """What feedgen cannot write: Atom text construct types, RFC 5005 links and
    marker, the RSS hub link; then hexadecimal character references."""
    root = etree.fromstring(document)
    if kind == "atom":
        _type_text_constructs(root)
    _add_history(root, spec, kind)
    rendered: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return _hex_references(rendered)


def _type_text_constructs(root: Any) -> None:
    """Atom titles, subtitles and rights with ``<`` or ``&``: ``type="html"``, escaped.

    feedgen writes them from plain text without a type; as type text the validator
    reads ``</b>`` or ``&amp;`` in them as undeclared HTML, as escaped HTML every
    reader shows the text exactly.
    """
    for construct in root.iter(*_TEXT_CONSTRUCTS):
        text = construct.text or ""
        if construct.get("type") is None and needs_html(text):
            construct.set("type", "html")
            construct.text = escape(text).markup


def _add_history(root: Any, spec: FeedSpec, kind: str) -> None:
    """RFC 5005 links and archive marker, and the RSS hub link, after the last link."""
    links = spec.history_links(kind)
    if kind == "rss" and spec.hub_url:
        links.insert(0, ("hub", spec.hub_url))
    if not links and not spec.is_archive:
        return
    container = root if kind == "atom" else root.find("channel")
    assert container is not None
    anchor = _last_link(container)
    position = list(container).index(anchor) + 1 if anchor is not None else 0
    tail = anchor.tail if anchor is not None else "\n"
    # SubElement reuses the document's namespace prefixes; then move into place.
    additions = []
    for rel, href in links:
        link = etree.SubElement(container, f"{{{ATOM_NS}}}link", href=href, rel=rel)
        additions.append(link)
    if spec.is_archive:
        additions.append(
            etree.SubElement(container, f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS})
        )
    for offset, addition in enumerate(additions):
        addition.tail = tail
        container.insert(position + offset, addition)


def _hex_references(document: bytes) -> bytes:
    """``&amp;``, ``&lt;`` and ``&gt;`` as ``&#x26;``, ``&#x3C;`` and ``&#x3E;``.

    The same characters to any XML parser; the RSS Best Practices Profile asks for
    this form in plain text, and the validator skips its "contains HTML" guesses on
    a line that uses it. lxml writes ``&``, ``<`` and ``>`` only as these three
    references, so replacing every occurrence is exact.
    """
    # "&amp;" goes first: its replacement holds no "&lt;" or "&gt;" to be caught again.
    return (
        document.replace(b"&amp;", b"&#x26;")
        .replace(b"&lt;", b"&#x3C;")
        .replace(b"&gt;", b"&#x3E;")
    )


def _last_link(container: Any) -> Any:
    found = container.findall(f"{{{ATOM_NS}}}link")
    return found[-1] if found else None
