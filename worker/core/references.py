"""Sentences that lean on the one before them: "He left.", "But it failed.", "This matters."

A sentence *depends on the previous one* when its first word — after any opening quotes
or brackets, and cut at an apostrophe ("It's" → "it", "they 're" → "they") — is

* a third-person pronoun (``PRONOUNS``: he, his, she, her, it, its, they, their, ...),
* a word pointing back (``POINTERS``: this, these, that, those, such), or
* a connective (``CONNECTIVES``: but, however, also, meanwhile, ..., and a few phrases
  such as "as a result", matched on the first words),

with three exceptions, where the words are not a reference to an earlier sentence:

* **a name**: a capitalized pronoun or pointer followed by another capitalized word is a
  name or a title ("He Jiankui", "This Is Us", "It Follows", "Her Majesty"); connectives
  get no such exception ("But Mikey stays" still needs what came before);
* **the article's own title**: a sentence that opens with the title's name (the title up
  to its first bracket, colon or dash, matched case-sensitively) names the work, so in
  an article titled "Her (2013): Ending Explained", "Her opens on ..." is not a reference;
* **"it" opening a quotation** (``"It's over," she says.``): speech uses "it" for the
  scene it quotes, which the quote carries with it. A quoted "he", "this" or "but" still
  depends on what came before.

The rule only looks at how a sentence begins: a reference further in ("sells this
descent") is not detected. Lower-cased text (tokenized corpora) never meets the first two
exceptions, since they need capitals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


PRONOUNS = _word_set("he him his himself she her hers herself it its itself they them their theirs")
POINTERS = _word_set("this these that those such")
CONNECTIVES = _word_set(
    "but however also meanwhile yet still instead besides moreover furthermore nevertheless "
    "nonetheless thus therefore hence so and or nor then otherwise likewise similarly "
    "additionally consequently accordingly"
)
CONNECTIVE_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "as a result",
        "even so",
        "for example",
        "for instance",
        "in addition",
        "in contrast",
        "by contrast",
        "on the other hand",
        "despite this",
        "despite that",
        "because of this",
        "after that",
    )
)
REFERENCE_WORDS = PRONOUNS | POINTERS | CONNECTIVES
_PHRASE_STARTS = frozenset(phrase[0] for phrase in CONNECTIVE_PHRASES)
_LEADS = REFERENCE_WORDS | _PHRASE_STARTS
# A first word in the lists is the sentence's first run of letters; a quick filter.
_FIRST_WORD = re.compile(r"[^\W_]+")
_FIRST_WORD_WITHIN = 40

#: Characters that may open a sentence before its first word: quotes and brackets.
OPENERS = "\"“‘'`([{«"
_QUOTES = frozenset("\"“‘'`«")
_APOSTROPHES = ("'", "’")
_TRAILING = ".,;:!?\"”’'»)]}…—–-"
_LOOKAHEAD = 5  # enough words for the longest phrase


def depends_on_previous(sentence: str, title: str = "") -> bool:
    """Whether ``sentence`` begins with a reference to what came before it (see module doc)."""
    lead = _FIRST_WORD.search(sentence, 0, _FIRST_WORD_WITHIN)
    if lead is None or lead.group().lower() not in _LEADS:
        return False  # the common case, decided without tokenizing
    quoted, tokens = _opening(sentence)
    first = _plain(tokens[0]) if tokens else ""
    if first in CONNECTIVES or _opens_with_phrase(first, tokens):
        return True
    if first not in PRONOUNS and first not in POINTERS:
        return False
    if quoted and first in {"it", "its"}:
        return False
    return not (_is_name(tokens) or _opens_with_title(sentence, title))


def _opens_with_phrase(first: str, tokens: list[str]) -> bool:
    if first not in _PHRASE_STARTS:
        return False
    words = [first, *map(_plain, tokens[1:])]
    return any(words[: len(phrase)] == list(phrase) for phrase in CONNECTIVE_PHRASES)


def _opening(sentence: str) -> tuple[bool, list[str]]:
    """Whether the sentence opens with a quote, and its first words without openers."""
    quoted = False
    tokens = sentence.split(maxsplit=_LOOKAHEAD + 2)[: _LOOKAHEAD + 2]
    for position, token in enumerate(tokens):
        stripped = token.lstrip(OPENERS)
        if len(stripped) < len(token):
            quoted = quoted or not _QUOTES.isdisjoint(token[: len(token) - len(stripped)])
        if stripped[:1].isalnum() or any(char.isalnum() for char in stripped):
            return quoted, [stripped, *tokens[position + 1 : position + _LOOKAHEAD]]
        # a bracket, quote or dash standing alone, as in tokenized text
    return quoted, []


def _plain(token: str) -> str:
    """The lower-cased word of a token, cut at an apostrophe: "It's," → "it"."""
    for apostrophe in _APOSTROPHES:
        token = token.split(apostrophe, 1)[0]
    return token.rstrip(_TRAILING).lower()


def _is_name(tokens: Sequence[str]) -> bool:
    """A capitalized word followed by another ("This Is Us"), in text that is not all capitals."""
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1].lstrip(OPENERS)
    if not (first[:1].isupper() and second[:1].isupper()) or first.isupper():
        return False
    return _plain(second) != "i"


def _opens_with_title(sentence: str, title: str) -> bool:
    name = title_name(title)
    if not name:
        return False
    text = sentence.lstrip(OPENERS + " ")
    if not text.startswith(name):
        return False
    rest = text[len(name) : len(name) + 1]
    return not rest.isalnum()


@lru_cache(maxsize=64)
def title_name(title: str) -> str:
    """What a title calls its subject: the part before a bracket, colon or dash."""
    cut = len(title)
    for mark in ("(", "[", ":", " - ", " – ", " — ", "|"):
        position = title.find(mark)
        if position > 0:
            cut = min(cut, position)
    return title[:cut].strip()
