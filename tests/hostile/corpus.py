"""A corpus of hostile articles, built in code (no large files in the repository).

Each item is ``Hostile(name, data, format, content_type)``: raw bytes as they would
arrive over the API, with the explicit format (or ``None`` to sniff) and the
Content-Type header (or ``None``). Every item must be either refused with a clear
:class:`~worker.core.errors.InputError` or accepted as a sanitized article.
"""

from __future__ import annotations

import codecs
import itertools
import json
import random
from functools import cache
from typing import NamedTuple

MIB = 1024 * 1024
#: The core's default limits (worker/core/options.py).
MAX_INPUT_BYTES = MIB
MAX_SECTIONS = 10_000


class Hostile(NamedTuple):
    name: str
    data: bytes
    format: str | None
    content_type: str | None


GOOD_BODY = "What Happens\nThe ending is quiet and the film says so plainly.\n"


def _text(title: str, body: str = GOOD_BODY) -> bytes:
    return f"{title}\nA description that ends well.\n{body}".encode("utf-8", "surrogatepass")


def _html(body: str, title: str = "Hostile HTML") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>A description.</p>{body}"
        "<h2>After</h2><p>Still here.</p></body></html>"
    ).encode("utf-8", "surrogatepass")


def _md(body: str, front: str = "") -> bytes:
    head = f"---\n{front}---\n" if front else ""
    return f"{head}# Hostile Markdown\n\nA description.\n\n{body}\n".encode(
        "utf-8", "surrogatepass"
    )


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _encoding_items() -> list[Hostile]:
    good = _text("Encoding Trouble")
    rng = random.Random(20240501)  # noqa: S311 - seeded test data
    return [
        Hostile("empty", b"", None, None),
        Hostile("whitespace-only", b" \t\r\n\n  \n", None, None),
        Hostile("bom-only", codecs.BOM_UTF8, None, None),
        Hostile("utf16-bom-only", codecs.BOM_UTF16_LE, None, None),
        Hostile("truncated-utf8-mid-sequence", good + "é".encode()[:1], None, None),
        Hostile("truncated-utf8-4-byte", good[:20] + "🎬".encode()[:3], "text", None),
        Hostile("cesu-lone-surrogate", good.replace(b"Trouble", b"\xed\xa0\x80"), None, None),
        Hostile(
            "cesu-surrogate-pair", good.replace(b"Trouble", b"\xed\xa0\xbd\xed\xb3\x80"), None, None
        ),
        Hostile("overlong-slash", good.replace(b"Trouble", b"\xc0\xaf"), None, None),
        Hostile("overlong-nul", good.replace(b"Trouble", b"\xc0\x80"), None, None),
        Hostile("overlong-3-byte", good.replace(b"Trouble", b"\xe0\x80\xaf"), None, None),
        Hostile("beyond-unicode", good.replace(b"Trouble", b"\xf4\x90\x80\x80"), None, None),
        Hostile("latin1-mixed-in", good + "Café naïve".encode("latin-1"), None, None),
        Hostile(
            "mixed-utf8-and-cp1252",
            "Mixed Encodings\nSmart “quotes” here.\n".encode() + "and “these”\n".encode("cp1252"),
            None,
            None,
        ),
        Hostile(
            "mojibake-utf8-as-latin1", _text("CafÃ© Society: â€œEndingâ€ explained"), None, None
        ),
        Hostile("nul-bytes-sprinkled", good.replace(b" ", b"\x00 ", 2), None, None),
        Hostile("nul-bytes-many", good.replace(b" ", b"\x00"), None, None),
        Hostile("random-binary", bytes(rng.getrandbits(8) for _ in range(4096)), None, None),
        Hostile(
            "random-binary-as-json",
            bytes(rng.getrandbits(8) for _ in range(512)),
            "json",
            "application/json",
        ),
        Hostile("png-magic", b"\x89PNG\r\n\x1a\n" + good, None, "image/png"),
        Hostile("pdf-magic", b"%PDF-1.7\n" + good, None, None),
        Hostile("zip-magic", b"PK\x03\x04" + good, None, None),
        Hostile("gzip-magic", b"\x1f\x8b\x08\x00" + good, None, None),
        Hostile("utf16le-no-bom", good.decode().encode("utf-16-le"), None, None),
        Hostile("utf16be-no-bom", good.decode().encode("utf-16-be"), None, None),
        Hostile(
            "utf16-bom-odd-length",
            codecs.BOM_UTF16_LE + good.decode().encode("utf-16-le")[:-1],
            None,
            None,
        ),
        Hostile(
            "utf16-bom-lone-surrogate",
            codecs.BOM_UTF16_LE
            + "Title\n".encode("utf-16-le")
            + b"\x00\xd8"
            + "x\n".encode("utf-16-le"),
            None,
            None,
        ),
        Hostile("utf32-bom", codecs.BOM_UTF32_LE + good.decode().encode("utf-32-le"), None, None),
        Hostile("crlf-line-endings", good.replace(b"\n", b"\r\n"), None, None),
        Hostile("cr-only-line-endings", good.replace(b"\n", b"\r"), None, None),
        Hostile(
            "unicode-line-separators", good.decode().replace("\n", "\u2028").encode(), None, None
        ),
        Hostile(
            "str-with-lone-surrogate-as-bytes",
            "Lone \ud800 Surrogate\nDesc.\n".encode("utf-8", "surrogatepass"),
            "text",
            None,
        ),
    ]


def _size_items() -> list[Hostile]:
    one_line = ("word " * (MIB // 5 - 20)).encode()
    at_limit = _text("At The Limit", "Part\n" + "x" * 10 + "\n").ljust(MAX_INPUT_BYTES, b" ")
    return [
        Hostile("one-mib-single-line", b"A Single Line\n" + one_line, None, None),
        Hostile("single-line-no-newline", b"Only " + b"x" * 200_000, None, None),
        Hostile(
            "ten-mib", _text("Ten Megabytes", "Part\n" + "Prose. " * (10 * MIB // 7)), None, None
        ),
        Hostile("one-byte-over-limit", at_limit + b"x", None, None),
        Hostile("exactly-at-byte-limit", at_limit, None, None),
        Hostile(
            "hundred-thousand-sections-md",
            b"# Many\n\n" + b"## a\nb.\n" * 100_000,
            "markdown",
            None,
        ),
        Hostile(
            "sections-one-over-limit-md",
            b"# Many\n\n" + b"## a\nb.\n" * (MAX_SECTIONS + 1),
            "markdown",
            None,
        ),
        Hostile(
            "sections-exactly-at-limit-md",
            b"# Many\n\n" + b"## a\nb.\n" * MAX_SECTIONS,
            "markdown",
            None,
        ),
        Hostile(
            "sections-one-over-limit-json",
            _json({"title": "Many", "sections": [{"heading": "h"}] * (MAX_SECTIONS + 1)}),
            "json",
            None,
        ),
        Hostile(
            "many-html-headings", _html("<h2>a</h2><p>b.</p>" * (MAX_SECTIONS + 1)), "html", None
        ),
        Hostile("huge-word", _text("Huge Word", "Part\n" + "a" * 500_000 + ".\n"), "text", None),
        Hostile("many-short-lines", b"Lines\n" + b"a.\n" * 30_000, "text", None),
    ]


def _html_items() -> list[Hostile]:
    deep = "<div>" * 10_000 + "<p>deep</p>" + "</div>" * 10_000
    return [
        Hostile("html-nested-10000-divs", _html(deep), None, "text/html"),
        Hostile("html-nested-unclosed", _html("<span><b><i>" * 5_000 + "deep"), "html", None),
        Hostile(
            "html-unclosed-tags",
            b"<html><body><h1>Unclosed<p>Para one<p>Para two<h2>H<div><table><tr><td>x",
            None,
            None,
        ),
        Hostile("html-truncated-mid-tag", _html("<p>Cut here</p>")[:90], "html", None),
        Hostile(
            "html-script",
            _html(
                "<p>a<script>alert('PWNED')</script>b</p><script src=//evil.example/x.js></script>"
            ),
            "html",
            None,
        ),
        Hostile(
            "html-onerror",
            _html('<p><img src=x onerror="alert(1)">text <a href="#" onclick=alert(1)>c</a></p>'),
            "html",
            None,
        ),
        Hostile(
            "html-javascript-url",
            _html(
                '<p><a href="javascript:alert(1)">x</a> <a href=" JaVaScRiPt:alert(1)">y</a></p>'
            ),
            "html",
            None,
        ),
        Hostile(
            "html-iframe",
            _html('<iframe src="https://evil.example/"></iframe><p>after</p>'),
            "html",
            None,
        ),
        Hostile(
            "html-svg-onload",
            _html('<svg onload="alert(1)"><script>alert(2)</script></svg><p>text</p>'),
            "html",
            None,
        ),
        Hostile(
            "html-css-expression",
            _html(
                '<p style="width: expression(alert(1))">x</p>'
                "<style>body{background:url(javascript:alert(1))}</style>"
            ),
            "html",
            None,
        ),
        Hostile(
            "html-comment-tricks",
            _html(
                "<!-- <script>alert(1)</script> --><p>a<!--></p><script>x</script>--></p><!--->b"
            ),
            "html",
            None,
        ),
        Hostile(
            "html-cdata-tricks",
            _html("<![CDATA[<script>alert(1)</script>]]><p>after cdata</p>"),
            "html",
            None,
        ),
        Hostile(
            "html-entity-encoded-script",
            _html("<p>&lt;script&gt;alert(1)&lt;/script&gt; &#106;avascript:alert(1)</p>"),
            "html",
            None,
        ),
        Hostile(
            "html-in-title", _html("<p>x</p>", title="<script>alert(1)</script>Title"), "html", None
        ),
        Hostile(
            "html-meta-refresh",
            b'<html><head><meta http-equiv="refresh" content="0;url=javascript:alert(1)">'
            b"<title>Refresh</title></head><body><p>x</p></body></html>",
            "html",
            None,
        ),
        Hostile(
            "html-object-embed",
            _html('<object data="x.swf"></object><embed src="javascript:alert(1)"><p>k</p>'),
            "html",
            None,
        ),
        Hostile(
            "html-control-chars",
            _html("<p>bell\x07 esc\x1b vt\x0b ff\x0c nul\x00 \ufffe\uffff end</p>"),
            "html",
            None,
        ),
        Hostile(
            "html-numeric-entities-invalid",
            _html("<p>&#0; &#x1; &#xD800; &#xFFFE; &#x110000; &#1114112; x</p>"),
            "html",
            None,
        ),
        Hostile(
            "html-noscript-template",
            _html(
                "<noscript><p>PWNED</p></noscript><template><script>alert(1)</script></template><p>ok</p>"
            ),
            "html",
            None,
        ),
    ]


def _unicode_items() -> list[Hostile]:
    controls = "".join(chr(c) for c in [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
    return [
        Hostile(
            "xml-invalid-controls-sparse",
            _text(
                "Sparse\x01Control\x1fTitle",
                "Head\x0bing\nBody \x08 text\ufffe.\n" + "Plain prose. " * 400 + "\n",
            ),
            "text",
            None,
        ),
        Hostile(
            "xml-invalid-controls-text",
            _text(f"Control{controls}Title", f"Head{controls}ing\nBody {controls}\ufffe\uffff.\n"),
            "text",
            None,
        ),
        Hostile(
            "xml-invalid-noncharacters",
            _text("Non\ufffe\uffff\ufdd0\U0001fffe Characters"),
            "text",
            None,
        ),
        Hostile("c1-controls", _text("C1\u0085\u0090\u009b Controls"), "text", None),
        Hostile("bidi-override-title", _text("Invoice \u202egpj.exe\u202c Ending"), "text", None),
        Hostile(
            "bidi-isolates-heading",
            _text("Bidi Heading", "\u2067Heading\u2069 \u2066x\u2069\nPara \u202dtext\u202c.\n"),
            "text",
            None,
        ),
        Hostile(
            "bidi-override-markdown-heading",
            _md("## \u202eevil\u202c heading\n\nbody.\n"),
            "markdown",
            None,
        ),
        Hostile(
            "bidi-override-json",
            _json(
                {
                    "title": "\u202eJSON\u202c bidi",
                    "authors": ["\u202ea\u202c"],
                    "tags": ["\u2066t\u2069"],
                    "sections": [{"heading": "\u202bh", "paragraphs": ["\u202ap"]}],
                }
            ),
            "json",
            None,
        ),
        Hostile(
            "zero-width-spaces",
            _text("Zero\u200bWidth\u2060Joiner\ufeffTitle", "Head\u200bing\nBody\u00ad text.\n"),
            "text",
            None,
        ),
        Hostile("zero-width-only-title", _text("\u200b\u2060\ufeff\u200b"), "text", None),
        Hostile("zwj-zwnj-only-title", _text("\u200d\u200c\u200d"), "text", None),
        Hostile("hangul-filler-only-title", _text("\u3164\u3164"), "text", None),
        Hostile(
            "whitespace-only-title-json",
            _json({"title": " \t\u00a0\u2003\u3000 ", "description": "d"}),
            "json",
            None,
        ),
        Hostile("homoglyph-title", _text("Pаypal Ending Ехplained"), "text", None),
        Hostile("combining-mark-flood", _text("Z" + "\u0301" * 5_000 + "algo"), "text", None),
        Hostile(
            "private-use-and-tags", _text("Tag\U000e0041\U000e0042 chars \ue000"), "text", None
        ),
    ]


def _markdown_items() -> list[Hostile]:
    # Billion laughs: nine levels of anchors, each listing the previous one nine times.
    names = "abcdefghi"
    billion = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]\n"
        for previous, name in itertools.pairwise(names)
    )
    huge_front = "".join(f"key{i}: value {i}\n" for i in range(40_000))
    return [
        Hostile("md-yaml-billion-laughs", _md("Body.", billion), "markdown", None),
        Hostile(
            "md-yaml-python-object",
            _md("Body.", "title: !!python/object/apply:os.system ['echo PWNED']\n"),
            "markdown",
            None,
        ),
        Hostile(
            "md-yaml-python-name", _md("Body.", "x: !!python/name:os.system\n"), "markdown", None
        ),
        Hostile("md-huge-front-matter", _md("Body.", huge_front), "markdown", None),
        Hostile(
            "md-deep-yaml", _md("Body.", "a: " + "[" * 5_000 + "]" * 5_000 + "\n"), "markdown", None
        ),
        Hostile(
            "md-front-matter-control-char", b"---\na: \x1f\n---\n# T\n\nBody.\n", "markdown", None
        ),
        Hostile(
            "md-unterminated-front-matter",
            b"---\ntitle: Open\n# Heading\n\nBody.\n",
            "markdown",
            None,
        ),
        Hostile(
            "md-front-matter-wrong-types",
            _md("Body.", "title: [1, 2]\nauthors: {a: b}\ntags: 5\npublished: yesterday\n"),
            "markdown",
            None,
        ),
        Hostile(
            "md-raw-html-script",
            _md(
                '<script>alert("PWNED")</script>\n\n<img src=x onerror=alert(1)>\n\n'
                "[x](javascript:alert(1))\n"
            ),
            "markdown",
            None,
        ),
        Hostile("md-deep-blockquote", _md(">" * 10_000 + " deep\n"), "markdown", None),
        Hostile(
            "md-deep-list", _md("".join("  " * i + "- x\n" for i in range(700))), "markdown", None
        ),
        Hostile(
            "md-link-reference-flood",
            _md("[a]" * 50_000 + "\n\n" + "[a]: http://x\n"),
            "markdown",
            None,
        ),
        Hostile("md-emphasis-flood", _md("*a **b " * 30_000), "markdown", None),
    ]


def _json_items() -> list[Hostile]:
    base = {
        "title": "JSON Item",
        "description": "d",
        "sections": [{"heading": "H", "paragraphs": ["P."]}],
    }
    return [
        Hostile("json-deep-nesting-arrays", b"[" * 100_000 + b"]" * 100_000, "json", None),
        Hostile(
            "json-deep-nesting-in-field",
            b'{"title":"Deep","extra":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
            "json",
            None,
        ),
        Hostile(
            "json-huge-number",
            b'{"title":"Num","metadata":{"release_year":' + b"9" * 100_000 + b"}}",
            "json",
            None,
        ),
        Hostile("json-huge-float", b'{"title":"Num","metadata":{"rating":1e999999}}', "json", None),
        Hostile(
            "json-nan",
            b'{"title":"NaN","metadata":{"rating":NaN,"release_year":Infinity}}',
            "json",
            None,
        ),
        Hostile(
            "json-duplicate-keys",
            b'{"title":"First","title":"Second","sections":[],"sections":[{"heading":"h"}]}',
            "json",
            None,
        ),
        Hostile(
            "json-wrong-types", _json({"title": 5, "authors": "x", "sections": "no"}), "json", None
        ),
        Hostile(
            "json-wrong-section-types",
            _json({**base, "sections": [{"heading": ["x"], "paragraphs": [1, None]}]}),
            "json",
            None,
        ),
        Hostile("json-not-an-object", b'["title", "x"]', "json", None),
        Hostile("json-string-document", b'"just a string"', "json", None),
        Hostile("json-null", b"null", "json", None),
        Hostile("json-truncated", _json(base)[:25], "json", None),
        Hostile(
            "json-escaped-lone-surrogate",
            b'{"title":"Lone \\ud800 surrogate","description":"\\udfff"}',
            "json",
            None,
        ),
        Hostile(
            "json-escaped-controls",
            b'{"title":"Ctl\\u0000\\u0007\\u001b\\ufffe","description":"\\u202e\\u200b"}',
            "json",
            None,
        ),
        Hostile(
            "json-script-fields",
            _json(
                {
                    **base,
                    "title": "<script>alert(1)</script>",
                    "url": "javascript:alert(1)",
                    "sections": [
                        {"heading": "<img src=x onerror=alert(1)>", "body": "<svg onload=alert(1)>"}
                    ],
                }
            ),
            "json",
            None,
        ),
        Hostile("json-url-invalid-ipv6", _json({**base, "url": "http://[::1"}), "json", None),
        Hostile(
            "json-url-control-char",
            _json({**base, "url": "https://x.example/a\x07b"}),
            "json",
            None,
        ),
        Hostile(
            "json-url-bidi-zero-width",
            _json({**base, "url": "https://x.example/a\u202eb\u200bc"}),
            "json",
            None,
        ),
        Hostile(
            "text-url-noncharacter",
            _text("Url Noncharacter", "Part\nBody.\n").replace(
                b"A description that ends well.\n",
                "A description.\nURL: https://x.example/\ufffe\n".encode(),
            ),
            "text",
            None,
        ),
        Hostile(
            "json-bad-dates",
            _json(
                {
                    **base,
                    "published": "9999-99-99",
                    "updated": "0000-00-00T25:61:61Z",
                    "language": "x" * 500,
                }
            ),
            "json",
            None,
        ),
        Hostile(
            "json-huge-string-field", _json({**base, "description": "d" * 900_000}), "json", None
        ),
        Hostile(
            "json-2000-tags", _json({**base, "tags": [f"t{i}" for i in range(2_000)]}), "json", None
        ),
        Hostile(
            "json-50000-tags",
            _json({**base, "tags": [f"t{i}" for i in range(50_000)]}),
            "json",
            None,
        ),
        Hostile(
            "json-id-path-traversal",
            _json({**base, "id": "../../etc/passwd", "slug": "../x"}),
            "json",
            None,
        ),
        Hostile("json-trailing-garbage", _json(base) + b" {}", "json", None),
    ]


def _mismatch_items() -> list[Hostile]:
    html = _html("<p>body</p>")
    document = _json({"title": "Mismatched", "sections": [{"heading": "H", "body": "B."}]})
    return [
        Hostile("json-sent-as-html", document, "html", None),
        Hostile("html-sent-as-json", html, "json", None),
        Hostile("html-sent-as-text", html, "text", None),
        Hostile("html-sent-as-markdown", html, "markdown", None),
        Hostile("json-sent-as-markdown", document, "markdown", None),
        Hostile("markdown-sent-as-json", _md("Body."), "json", None),
        Hostile("json-with-html-content-type", document, None, "text/html"),
        Hostile("html-with-json-content-type", html, None, "application/json"),
        Hostile("unknown-format", document, "yaml", None),
        Hostile("weird-content-type", document, None, "application/x-evil; charset=utf-7"),
        Hostile(
            "utf7-content-type",
            b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-\nBody.\n",
            None,
            "text/plain; charset=utf-7",
        ),
    ]


@cache
def corpus() -> tuple[Hostile, ...]:
    """Every hostile item, with unique names."""
    from tests.hostile.corpus_markup import markup_items

    items = (
        *_encoding_items(),
        *_size_items(),
        *_html_items(),
        *_unicode_items(),
        *_markdown_items(),
        *_json_items(),
        *_mismatch_items(),
        *markup_items(),
    )
    names = [item.name for item in items]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return items


def by_name(name: str) -> Hostile:
    return next(item for item in corpus() if item.name == name)
