"""A candidate sentence of a summary and what the summarizer asks about it.

* its lower-cased words and **content words** (stopwords dropped), for centrality;
* how much of a **topic** (a heading or title) it names: the topic's content words
  without plural or possessive endings, each found in the sentence as itself, its plural
  (-s, -es, -ies) or its possessive ("Arcs" is named by "arc", "Rocket's" by "rockets"),
  also as part of a hyphenated word ("non-resolution");
* whether it is **junk**: a fragment of fewer than ``MIN_WORDS`` words, a run-on of more
  than ``MAX_WORDS``, mostly symbols, web boilerplate ("click here", "all rights
  reserved", ...) or a byline;
* whether it is **redundant** with another: a shared word trigram, or more than
  ``MAX_OVERLAP`` of the smaller one's content words;
* whether it **depends** on the sentence before it (``references``).
"""

from __future__ import annotations

import re

from worker.core.references import depends_on_previous


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


MIN_WORDS = 8
MAX_WORDS = 80
MAX_OVERLAP = 0.6
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»–—…·•"
_BOILERPLATE = (
    "click here",
    "read more",
    "scroll down",
    "sign up",
    "subscribe",
    "follow us",
    "all rights reserved",
    "copyright",
    "published:",
    "updated:",
    "©",
)
_JOINERS = re.compile("[-/]")
_BYLINE = re.compile(r"\W*by\s+[\w.'’-]+(?:\s+[\w.'’-]+){0,4}\W*")
_STOPWORDS = _word_set(
    "a about above after again against all also am an and any are as at be because been "
    "before being below between both but by can could did do does doing down during each "
    "few for from further had has have having he her here hers herself him himself his how "
    "i if in into is it its itself just me more most my myself no nor not now of off on "
    "once only or other our ours ourselves out over own said same says she should so some "
    "such than that the their theirs them themselves then there these they this those "
    "through to too under until up very was we were what when where which while who whom "
    "why will with would you your yours yourself yourselves"
)


class Candidate:
    """A candidate sentence, its lower-cased words and lazily computed features."""

    __slots__ = (
        "_depends",
        "_junk",
        "_parts",
        "_title",
        "_trigrams",
        "joined",
        "terms",
        "text",
        "words",
    )

    def __init__(self, text: str, title: str = "") -> None:
        self.text = text
        # str.split + strip is several times faster than a regex tokenizer here; most
        # tokens are plain words, which isalnum tells for less than a strip costs.
        self.words = [
            word
            for token in text.lower().split()
            if (word := token if token.isalnum() else token.strip(_PUNCTUATION))
        ]
        self.terms = frozenset(self.words) - _STOPWORDS  # distinct content words
        self.joined = "-" in text or "/" in text  # has hyphenated or slashed words
        self._title = title  # the article's, which the sentence may name
        self._depends: bool | None = None
        self._junk: bool | None = None
        self._parts: frozenset[str] | None = None
        self._trigrams: frozenset[tuple[str, str, str]] | None = None

    @property
    def depends(self) -> bool:
        """Whether it begins with a reference to the sentence before it."""
        if self._depends is None:
            self._depends = depends_on_previous(self.text, self._title)
        return self._depends

    @property
    def is_junk(self) -> bool:
        if self._junk is None:
            self._junk = is_junk(self.text, self.words)
        return self._junk

    @property
    def parts(self) -> frozenset[str]:
        """The pieces of its hyphenated or slashed words ("non-resolution": non, resolution)."""
        if self._parts is None:
            self._parts = frozenset(
                part
                for term in (self.terms if self.joined else ())
                if "-" in term or "/" in term
                for part in _JOINERS.split(term)
            )
        return self._parts

    @property
    def trigrams(self) -> frozenset[tuple[str, str, str]]:
        if self._trigrams is None:
            words = self.words
            self._trigrams = frozenset(zip(words, words[1:], words[2:], strict=False))
        return self._trigrams


def is_junk(text: str, words: list[str]) -> bool:
    """Fragments, run-ons, symbol soup, web boilerplate and bylines."""
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return True
    if 2 * sum(map(len, words)) < len(text) - text.count(" "):
        return True  # mostly symbols or markup
    lowered = text.lower()
    return any(phrase in lowered for phrase in _BOILERPLATE) or bool(_BYLINE.fullmatch(lowered))


def redundant(sentence: Candidate, previous: Candidate) -> bool:
    """Whether ``sentence`` says again what ``previous`` says: a shared trigram or most words."""
    smaller = min(len(sentence.terms), len(previous.terms))
    if smaller > 0 and len(sentence.terms & previous.terms) > MAX_OVERLAP * smaller:
        return True
    return sentence.text == previous.text or bool(sentence.trigrams & previous.trigrams)


class Topic:
    """What a heading or title is about: its content words and the forms that name them."""

    __slots__ = ("_base", "_forms", "size")

    def __init__(self, text: str) -> None:
        words = (word for token in text.lower().split() if (word := token.strip(_PUNCTUATION)))
        parts = (part for word in words for part in _JOINERS.split(word))
        bases = {base for part in parts if (base := _base(part)) and base not in _STOPWORDS}
        self._base = {form: base for base in bases for form in _forms(base)}
        self._forms = frozenset(self._base)
        self.size = len(bases)

    def share(self, sentence: Candidate) -> float:
        """The fraction of the topic's words that ``sentence`` names (0 for an empty topic)."""
        return self.shares([sentence])[0]

    def shares(self, sentences: list[Candidate]) -> list[float]:
        """``share`` of each sentence, in one pass."""
        if not self.size:
            return [0.0] * len(sentences)
        forms, base, size = self._forms, self._base, self.size
        result: list[float] = []
        for sentence in sentences:
            joined = sentence.joined
            if not joined and forms.isdisjoint(sentence.terms):
                result.append(0.0)
                continue
            found = forms.intersection(sentence.terms)
            if joined:
                found |= forms.intersection(sentence.parts)
            result.append(len({base[form] for form in found}) / size)
        return result


def _base(word: str) -> str:
    """A word without a possessive or plural ending: "Rocket's" → rocket, "stories" → story."""
    word = word.removesuffix("'s").removesuffix("’s")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _forms(base: str) -> tuple[str, ...]:
    forms = (base, f"{base}s", f"{base}es", f"{base}'s", f"{base}’s")
    return (*forms, f"{base[:-1]}ies") if base.endswith("y") else forms
