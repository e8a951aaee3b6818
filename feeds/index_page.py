"""The ``/feeds/`` page: every published feed with links to its three formats.

Pure: feed names are plain text (an author's name, a tag) and reach the page only
through :func:`feeds.markup.fill`, which escapes them.
"""

from __future__ import annotations

from feeds.markup import Html, fill, join

_KINDS = {"main": "all articles", "author": "author", "tag": "tag"}
_FORMATS = (("Atom", "atom.xml"), ("RSS", "rss.xml"), ("JSON Feed", "feed.json"))


def feed_index_html(title: str, feeds: list[tuple[str, str, str]]) -> Html:
    """The page for ``feeds``: (feed key, display name, folder) as from the catalogue."""
    rows = join(_row(key, name, folder) for key, name, folder in feeds)
    return fill(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>{title}: feeds</title></head><body>\n<h1>{title}: feeds</h1>\n"
        "<table>\n<tr><th>feed</th><th>name</th><th>formats</th></tr>\n{rows}\n</table>\n"
        "</body></html>\n",
        title=title,
        rows=rows,
    )


def _row(key: str, name: str, folder: str) -> Html:
    links = join(
        (fill('<a href="/feeds/{path}">{label}</a>', path=folder + file, label=label)
         for label, file in _FORMATS),
        " ",
    )  # fmt: skip
    return fill(
        "<tr><td>{kind}</td><td>{name}</td><td>{links}</td></tr>",
        kind=_KINDS[key.partition(":")[0]],
        name=name,
        links=links,
    )
