"""The offline mirror of the validator's rules (tests/feed_rules.py) finds what the
service finds: each rule fires on a small document written to break it, and stays
quiet on the same text written the way syndicate writes it."""

from __future__ import annotations

import pytest

from tests.feed_rules import findings


def rss(item: str, channel: str = "<title>Films</title><description>d</description>") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>\n'
        f"{channel}\n<link>https://x.example/</link>\n<item>\n{item}\n</item>\n</channel></rss>\n"
    ).encode()


def atom(entry: str, feed: str = "<title>Films</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"{feed}\n<entry>\n{entry}\n</entry>\n</feed>\n"
    ).encode()


def rules(kind: str, document: bytes) -> list[str]:
    return [finding.rule for finding in findings(kind, document)]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # nonhtml, first check: an end tag in the decoded text, however it was escaped.
        ("<title>Tags &amp; &lt;b&gt;markup&lt;/b&gt;</title>", ["ContainsHTML"]),
        ("<title>Tags &#x26; &#x3C;b&#x3E;markup&#x3C;/b&#x3E;</title>", ["ContainsHTML"]),
        ("<title>Tags &#x26; &#x3C;b&#x3E;markup&#x3C; /b&#x3E;</title>", []),
        # second check: entity text, unless the line uses hexadecimal references.
        ("<title>Tom &amp;amp; Jerry</title>", ["ContainsHTML"]),
        ("<title>Tom &#x26;amp; Jerry</title>", []),
        ("<title>AT&amp;T</title>", []),  # "&T" is not an entity
        # third check (RSS 2.0 Profile): "<" before a letter, unless hexadecimal.
        ("<category>a&lt;b&gt;c</category>", ["CharacterData"]),
        ("<category>a&#x3C;b&#x3E;c</category>", []),
        ("<category></category>", ["NotBlank"]),
        ("<title></title>", ["NotBlank"]),
        # HTMLValidator on description and content:encoded.
        ("<description>&lt;p&gt;a &amp;lt;script&amp;gt;&lt;/p&gt;</description>", []),
        ("<description>x &lt;script&gt;alert(1)&lt;/script&gt;</description>", ["SecurityRisk"]),
        ('<description>&lt;p onclick="x"&gt;y&lt;/p&gt;</description>', ["SecurityRiskAttr"]),
        ("<content:encoded>&lt;p&gt;x&lt;/p&gt;&lt;/p&gt;</content:encoded>", ["NotHtml"]),
        ("<description>a &lt;iframe&gt;</description>", ["NotHtml", "SecurityRisk"]),
    ],
)
def test_rss_rules(item: str, expected: list[str]) -> None:
    assert rules("rss", rss(item)) == expected


def test_rss_channel_title_and_description_are_plain_text() -> None:
    channel = "<title>a &lt;/i&gt;</title><description>a&lt;b</description>"
    assert rules("rss", rss("<title>t</title>", channel)) == ["ContainsHTML", "CharacterData"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # textConstruct: type text is nonhtml (ContainsUndeclaredHTML), type html is HTML.
        ("<title>Tags &amp; &lt;b&gt;x&lt;/b&gt;</title>", ["ContainsUndeclaredHTML"]),
        ('<title type="html">Tags &amp;amp; &amp;lt;b&amp;gt;x&amp;lt;/b&amp;gt;</title>', []),
        ('<title type="html">Tags &lt;b&gt;x&lt;/b&gt;</title>', ["SecurityRisk"]),
        ("<title>a&lt;b&gt;c</title>", []),  # CharacterData is for RSS only
        ('<content type="html"></content>', ["NotBlank"]),
        ('<content type="html">&lt;p&gt;x&lt;/p&gt;</content>', []),
        ("<summary>bad \ufffd</summary>", ["BadCharacters"]),
        # author.py: name is nonhtml, nonemail, nonblank.
        ("<author><name>Jo &lt;script&gt;x&lt;/script&gt;</name></author>", ["ContainsHTML"]),
        ("<author><name>Jo &#x3C;script&#x3E;x&#x3C; /script&#x3E;</name></author>", []),
        ("<author><name>Ann &lt;ann@example.org&gt;</name></author>", ["ContainsEmail"]),
        ("<author><name>Ann &lt; ann@example.org&gt;</name></author>", []),
        ("<author><name></name></author>", ["NotBlank"]),
        # category.py: label is nonhtml.
        ('<category term="t" label="a &lt;/b&gt;"/>', ["ContainsHTML"]),
        ('<category term="t" label="&amp;copy; x"/>', ["ContainsHTML"]),
        ('<category term="t" label="&#x26;copy; x"/>', []),
    ],
)
def test_atom_rules(entry: str, expected: list[str]) -> None:
    assert rules("atom", atom(entry)) == expected


def test_atom_feed_title_is_a_text_construct() -> None:
    document = atom("<title>t</title>", feed="<title>a &lt;/i&gt;</title>")
    assert rules("atom", document) == ["ContainsUndeclaredHTML"]


def test_hexadecimal_references_count_only_on_the_elements_own_lines() -> None:
    item = "<title>x &#x26; y</title>\n<category>a&lt;b</category>"
    assert rules("rss", rss(item)) == ["CharacterData"]
