"""Rule-based sentence splitting for English prose, standard library only.

A boundary candidate is a run of terminal punctuation (``.``, ``?``, ``!``, ``…``),
plus any closing quotes or brackets that follow it, followed by whitespace. The
candidate becomes a boundary when the next word can start a sentence and the
word before a period is not an abbreviation or an initial.

Two modes, chosen per call:

* **normal text** — the next sentence must start with an uppercase letter, a digit
  or an opening quote/bracket, so ``e.g. this`` or ``3.50`` never split.
* **text without any uppercase letter** (lower-cased, tokenized corpora such as
  ``he said . `` go . '' then``) — lowercase starts are allowed, so the rules lean
  on the punctuation instead: a period standing alone after a space always ends a
  sentence, ellipses and abbreviations never do.

Periods inside tokens (decimals, versions, URLs, e-mail addresses) are never
candidates because they are not followed by whitespace. Blank lines always end a
sentence. The scan is linear in the length of the text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import pairwise


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Abbreviations that (practically) never end a sentence: titles, months, "No. 5", "vs.".
_NEVER_FINAL = _word_set(
    "mr mrs ms mx dr prof gen sgt st rev fr capt cpt lt col maj cmdr adm sen rep gov pres "
    "hon supt insp det cpl pvt messrs mme mlle vs v no nos approx ca cf fig figs vol pp ed "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft ave blvd rd dept univ est"
)
# Abbreviations that often end a sentence; in normal text they split before a capital.
_OFTEN_FINAL = _word_set("etc inc ltd co corp jr sr bros al plc llc")
# Capitalized words that typically open a sentence; after an initial ("plan B.", "U.S.")
# only these count as evidence of a boundary, so "J. R. R. Tolkien" stays whole.
_SENTENCE_OPENERS = _word_set(
    "the he she it they we i but this that these those there his her its their our my you "
    "your if when while after before then however meanwhile yet so as in on at for now "
    "some many most what why how who also still"
)

# Terminal punctuation and attached closing quotes/brackets, then whitespace and
# the next token's first character (group "next"), or the end of the paragraph.
# "[.?!…][.?!…]*" rather than "[.?!…]+": a pattern that opens with a character class
# lets the regex engine skip to the next candidate character instead of trying a
# match at every position (over twice as fast here, same matches).
_CANDIDATE = re.compile(r"""(?P<punct>[.?!…][.?!…]*)["”’'»)\]}]*(?=\s+(?P<next>\S)|\s*\Z)""")
# Closers written as separate tokens; "'" and '"' are ambiguous and handled separately.
_SPACED_CLOSERS = frozenset(["''", "”", "’", "»", ")", "]", "}", "-rrb-", "-rsb-", "-rcb-"])
_AMBIGUOUS_QUOTES = frozenset(["'", '"'])
_CLOSER_FIRST_CHARS = frozenset(token[0] for token in _SPACED_CLOSERS | _AMBIGUOUS_QUOTES)
_OPENERS = frozenset("\"“‘'`([{«¿¡")
_OPENER_TOKENS = ("-lrb-", "-lsb-", "-lcb-")
_LEADING_PUNCT = "\"“‘'`([{«<"
# A quote token, unless it looks like a tokenized plural possessive ("the players ' wives").
_STANDALONE_QUOTE = re.compile(r"""(?:^|(?<=\s))(?:(?<!s\s)['"]|['"](?!\s+[^\W_]))(?=\s|$)""")
_DOTTED_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"\S+")
# Enough to recognize any abbreviation or initialism; longer words are never either.
_WORD_WINDOW = 24
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, stripped and non-empty, in order.

    Every returned sentence is a substring of ``text``.
    """
    lowercase_only = text.lower() == text
    cuts = [0]
    block_start = 0
    for paragraph_break in _PARAGRAPH_BREAK.finditer(text):
        _find_boundaries(text, block_start, paragraph_break.start(), lowercase_only, cuts)
        cuts.append(paragraph_break.start())
        block_start = paragraph_break.end()
    _find_boundaries(text, block_start, len(text), lowercase_only, cuts)
    cuts.append(len(text))
    spans = _merge_punctuation_only(text, _stripped_spans(text, cuts))
    return [text[start:end] for start, end in spans]


def _find_boundaries(
    text: str, block_start: int, block_end: int, lowercase_only: bool, cuts: list[int]
) -> None:
    """Append the offsets in ``text`` where the sentences of one paragraph end."""
    block = text[block_start:block_end]
    quotes = _QuoteState(block)
    sentence_start = 0
    for candidate in _CANDIDATE.finditer(block):
        if candidate.start() < sentence_start:
            continue  # inside closers already consumed
        end = candidate.end()
        found = candidate.start("next")
        next_start = found if found >= 0 else None  # -1: the paragraph ends here
        if next_start is not None and block[next_start] in _CLOSER_FIRST_CHARS:
            end, next_start = _skip_spaced_closers(block, end, quotes, sentence_start)
        if next_start is None or _ends_sentence(block, candidate, next_start, lowercase_only):
            cuts.append(block_start + end)
            sentence_start = end


def _skip_spaced_closers(
    block: str, end: int, quotes: _QuoteState, sentence_start: int
) -> tuple[int, int | None]:
    """Extend a sentence end over closing tokens like ``''`` or ``-rrb-``.

    Returns the new end and where the next token starts (None at the end of the block).
    """
    token = _TOKEN.search(block, end)
    while token is not None:
        word = token.group()
        closes = word in _SPACED_CLOSERS or (
            word in _AMBIGUOUS_QUOTES and quotes.is_open_at(token.start(), sentence_start)
        )
        if not closes:
            return end, token.start()
        end = token.end()
        token = _TOKEN.search(block, end)
    return end, None


class _QuoteState:
    """Whether a straight quote standing alone as a token is open at some position.

    Tokenized text writes quotes as separate tokens, so ``. '`` may close a quote or
    open the next sentence's. Parity within the current sentence decides; a sentence
    without such quotes falls back to the parity since the paragraph start, which
    quotes spanning several sentences need.
    """

    def __init__(self, block: str) -> None:
        self._block = block
        self._positions: list[int] | None = None  # found on first use: rarely needed

    def is_open_at(self, position: int, sentence_start: int) -> bool:
        if self._positions is None:
            self._positions = [m.start() for m in _STANDALONE_QUOTE.finditer(self._block)]
        before = bisect_left(self._positions, position)
        in_sentence = before - bisect_left(self._positions, sentence_start)
        return (in_sentence or before) % 2 == 1


def _ends_sentence(
    block: str, candidate: re.Match[str], next_start: int, lowercase_only: bool
) -> bool:
    first = block[next_start]
    can_start = (
        first.isupper()
        or first.isdigit()
        or first in _OPENERS
        or block.startswith(_OPENER_TOKENS, next_start)
        or (lowercase_only and first.isalpha())
    )
    if not can_start:
        return False
    punct = candidate.group("punct")
    if "?" in punct or "!" in punct:
        return True
    if "…" in punct or ".." in punct:
        return not lowercase_only
    return _period_ends_sentence(block, candidate.start(), next_start, lowercase_only)


def _period_ends_sentence(
    block: str, period_at: int, next_start: int, lowercase_only: bool
) -> bool:
    """Whether the period at ``period_at`` ends the sentence, judging by the word before."""
    word = _word_before(block, period_at).lstrip(_LEADING_PUNCT).lower()
    if not word:
        return True  # a period standing alone, as in tokenized text
    if word in _NEVER_FINAL:
        return False
    is_initial = (len(word) == 1 and word.isalpha()) or (
        "." in word and bool(_DOTTED_INITIALS.fullmatch(word))
    )
    if not is_initial and word not in _OFTEN_FINAL:
        return True
    if lowercase_only:
        return False
    if is_initial:
        next_token = block[next_start : next_start + _WORD_WINDOW].lstrip(_LEADING_PUNCT)
        opener = _WORD.match(next_token)
        return opener is not None and opener.group().lower() in _SENTENCE_OPENERS
    return block[next_start].isupper()


def _word_before(block: str, position: int) -> str:
    """The token ending at ``position``; only its last few characters for a long one."""
    window = block[max(0, position - _WORD_WINDOW) : position]
    if not window or window[-1].isspace():
        return ""
    return window.rsplit(None, 1)[-1]


def _stripped_spans(text: str, cuts: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start, end in pairwise(cuts):
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            offset = start + len(piece) - len(piece.lstrip())
            spans.append((offset, offset + len(stripped)))
    return spans


def _merge_punctuation_only(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Attach pieces without any letter or digit (a stray "..." or quote) to a neighbour."""
    merged: list[tuple[int, int]] = []
    pending_start: int | None = None
    for start, end in spans:
        if not _WORD.search(text, start, end):
            if merged:
                merged[-1] = (merged[-1][0], end)
            elif pending_start is None:
                pending_start = start
            continue
        merged.append((start if pending_start is None else pending_start, end))
        pending_start = None
    if pending_start is not None:
        merged.append((pending_start, spans[-1][1]))
    return merged
