"""Hostile corpus items whose *plain text* looks like markup (issue: a post about
HTML, a careless CMS export, a hostile sender). Each must be accepted, keep the text
as written, and render as escaped text in every HTML field with no validator warning.
"""

from __future__ import annotations

import json

from tests.hostile.corpus import Hostile

SCRIPT_PARAGRAPH = "This paragraph mentions <script>alert(1)</script> and the <video> element."


def markup_items() -> list[Hostile]:
    """The items; all of them write markup as text (see :data:`MARKUP_AS_TEXT`)."""
    fields = {
        "title": "Tags & <b>markup</b> in text",
        "description": "A <i>careless</i> export: &amp; &lt;p&gt; &#60;b&#62; &copy",
        "authors": ["Jo <script>x</script> Doe", "Ann <ann@example.org>", "R&D <Team>"],
        "tags": ["a<b>c", "Tags & <b>markup</b> in text", "&amp;", "</p>", "<3"],
        "sections": [
            {"heading": "About <h1> & </h2>", "paragraphs": [SCRIPT_PARAGRAPH]},
            {"heading": "Attributes", "body": '<a href="javascript:alert(1)" onclick=x>y</a>'},
        ],
        "metadata": {"Note <b>": "</td><img src=x onerror=alert(1)>"},
    }
    return [
        Hostile(
            "text-markup-in-paragraph",
            f"Writing About HTML\nA page about tags.\nThe Post\n{SCRIPT_PARAGRAPH}\n".encode(),
            "text",
            None,
        ),
        Hostile("text-title-only", b"Only A Title\n", "text", None),
        Hostile("json-title-only", _json({"title": "Only <b>A</b> Title"}), "json", None),
        Hostile("json-markup-in-every-field", _json(fields), "json", None),
        Hostile(
            "text-markup-title-and-metadata",
            (
                b"Tags & <b>markup</b> in text\nA description with </p> in it.\n"
                b"Author: Jo <script>x</script> Doe\nTags: a<b>c, R&D, <i>it</i>\n"
                b"Part <one>\nBody with &amp; and &#x3C;/b&#x3E; written out.\n"
            ),
            "text",
            None,
        ),
        Hostile(
            "md-escaped-markup",
            b"# Markdown \\<b\\>escaped\\</b\\> & `<code>`\n\n"
            b"Text with \\<script\\>alert(1)\\</script\\> and `</p>` spans.\n",
            "markdown",
            None,
        ),
        Hostile(
            "html-escaped-markup-everywhere",
            b"<!doctype html><html><head><title>Escaped &lt;/b&gt; &amp;amp;</title>"
            b'<meta name="author" content="Jo &lt;script&gt;x&lt;/script&gt;">'
            b'<meta name="keywords" content="a&lt;b&gt;c, &lt;/i&gt;"></head><body>'
            b"<h1>Escaped &lt;/b&gt; &amp;amp;</h1><p>&lt;/p&gt;&lt;script&gt;x&lt;/script&gt;</p>"
            b"<h2>&lt;h2&gt;</h2><p>&amp;lt;b&amp;gt; stays text</p></body></html>",
            "html",
            None,
        ),
        Hostile(
            "json-markup-with-bidi-and-controls",
            json.dumps(
                {
                    "title": "\u202e<b>x</b>\u202c \x07 title",
                    "authors": ["\u2066</i>\u2069"],
                    "tags": ["\u200b<tag>", "\x1b[31m</red>"],
                    "description": "\u202e&lt;script&gt;\u202c",
                }
            ).encode(),
            "json",
            None,
        ),
    ]


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


#: Every item here writes markup as text, which the article keeps as text.
MARKUP_AS_TEXT = frozenset(item.name for item in markup_items())
