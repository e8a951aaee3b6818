"""Extractive summarization: pick a text's most representative sentences, in order.

Each candidate sentence ``i`` (0-based position in its pool) gets

    score = centrality / max_centrality + POSITION_WEIGHT * POSITION_DECAY ** i
            + HEADING_WEIGHT * heading share + TITLE_WEIGHT * title share
            + OPENING_WEIGHT if it opens a section and states its topic

* **centrality** — cosine similarity between the sentence's TF-IDF vector (binary
  term weights, stopwords dropped, IDF over the document's own sentences, so no corpus
  is needed) and the centroid of the other sentences: a sentence built from words the
  rest of the text keeps using states what the text is about. One linear pass.
* **position prior** — news and web articles put the gist first. A geometrically
  decaying bonus says so without hard-coding "take the lead": a central sentence can
  still beat an early, peripheral one.
* **heading and title** — the share of the section heading's and the article title's
  content words that the sentence names (``candidates.Topic``: plural and possessive
  forms count). The heading says what the section is about; newspaper3k scores title
  overlap the same way. A section summary weighs both; the article summary the title.
* **the section's opening** — a section's first sentence that names a word of its
  heading or of the title, and does not lean on the sentence before, states the
  section's topic. In a section, it adds to the lead bonus; in the article summary,
  it lets a later section's opening compete with the first section's sentences.

Selection is greedy by score, with three rules:

* **no dangling references** — a sentence that begins with a reference to the one
  before it ("He ...", "But ...", "This ...": ``references``) comes together with that
  sentence (and with its own antecedent, if it leans too), when all of them fit the
  sentence count and the length budget; otherwise it is passed over. A sentence that
  leans on something outside the pool (a section's first "He ...") is never picked,
  unless nothing else can be: a text with any sentence gets at least one.
* **no repeats** — a sentence is skipped when it would be redundant with one already
  picked (shares a word trigram, or more than ``MAX_OVERLAP`` of its content words).
* **no junk** — fragments, run-ons, symbol soup, boilerplate and bylines
  (``candidates``) only fill what other sentences cannot.

Length: a section under ``SHORT_SECTION_WORDS`` words (about one paragraph) gets one
sentence, a longer one up to two (the caller's ``sentences``), within ``max_chars``. A
sentence is cut (ending in "…") only when not a single one fits the budget. The article
summary keeps its three.

Parameters. Position weight and decay, the minimum length and the overlap limit were
chosen from a handful of round values each by ROUGE on a 100-article news sample
(``bench/rouge_eval.py``). Every combination of weight 1 with decays 0.8/0.9/0.95,
minimum lengths 5/8/10 and overlap limits 0.5/0.6/0.8 beat Lead-3 there on ROUGE-1, -2
and -Lsum alike; the middle values were kept rather than the sample's best, to avoid
fitting it. That sample has no headings or titles, so it cannot choose the heading,
title and opening weights: each is 0.5, half the lead sentence's position bonus and half
the range of centrality, so naming the heading moves a sentence up without overruling
what the rest of the section says. ``SHORT_SECTION_WORDS`` is 150, about one paragraph of
web prose. None of these was adjusted to a particular article.

Cost is linear in the input: only the first ``MAX_CANDIDATES`` sentences are
considered (the position prior makes later ones rare picks anyway) and a huge text is
only split as far as ``MAX_SCAN_CHARS``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import chain, islice
from operator import attrgetter
from typing import NamedTuple

from worker.core.candidates import Candidate, Topic, redundant
from worker.core.sentences import split_sentences

POSITION_WEIGHT = 1.0
POSITION_DECAY = 0.9
HEADING_WEIGHT = 0.5
TITLE_WEIGHT = 0.5
OPENING_WEIGHT = 0.5
SHORT_SECTION_WORDS = 150
MAX_CANDIDATES = 250
# summarize(text) only splits this much of a huge text; MAX_CANDIDATES fit in far less.
MAX_SCAN_CHARS = 100_000
ELLIPSIS = "…"
# The position prior of each place in a pool, computed once.
_POSITION_BONUS = tuple(POSITION_WEIGHT * POSITION_DECAY**index for index in range(MAX_CANDIDATES))


def summarize(
    text: str, *, sentences: int = 3, max_chars: int | None = None, title: str = ""
) -> list[str]:
    """Extractive summary of `text`: up to `sentences` of its own sentences, in original order.

    A ``title``, when given, counts as a topic and as a name (see ``references``).
    """
    candidates = _split_prefix(text)
    return summarize_sentences(candidates, sentences=sentences, max_chars=max_chars, title=title)


def summarize_sentences(
    candidates: Sequence[str],
    *,
    sentences: int = 3,
    max_chars: int | None = None,
    title: str = "",
) -> list[str]:
    """Same, over sentences already split."""
    pool = _pool(candidates, title)
    focus = _Focus(topics=_title_topic(Topic(title)))
    return [sentence.text for sentence in _pick(pool, sentences, max_chars, focus)]


def section_summary(
    paragraphs: Sequence[str],
    *,
    heading: str = "",
    title: str = "",
    max_chars: int = 320,
    sentences: int = 2,
) -> str:
    """1–`sentences` of the section's own sentences joined by a space, at most max_chars characters.

    One sentence for a section under ``SHORT_SECTION_WORDS`` words. At least one sentence
    when the section has any text; only if no sentence fits in max_chars is the best one
    cut at a word boundary, ending with '…' (total still ≤ max_chars). Empty string for
    no text.
    """
    pool = _pool(_sentences_of(paragraphs), title)
    focus = _section_focus(pool, Topic(heading), Topic(title))
    return _section_summary(pool, max_chars, sentences, focus)


def article_summary(
    sections_paragraphs: Sequence[Sequence[str]],
    *,
    headings: Sequence[str] = (),
    title: str = "",
    sentences: int = 3,
    max_chars: int | None = None,
) -> str:
    """Summary of a whole article from its sections' paragraphs (sentences joined by a space)."""
    pools = [_pool(_sentences_of(paragraphs), title) for paragraphs in sections_paragraphs]
    topics = _heading_topics(headings, len(pools))
    return _article_summary(pools, topics, Topic(title), sentences, max_chars)


def summarize_article(
    sections_paragraphs: Sequence[Sequence[str]],
    *,
    headings: Sequence[str] = (),
    title: str = "",
    section_chars: int = 320,
    section_sentences: int = 2,
    sentences: int = 3,
    max_chars: int | None = None,
) -> tuple[list[str], str]:
    """Every section's summary and the article's, splitting and analyzing each sentence once.

    Equal to ``[section_summary(p, heading=h, title=title) for p, h in ...]`` and
    ``article_summary(sections, headings=headings, title=title)`` with the same options,
    at about half the cost.
    """
    pools = [_pool(_sentences_of(paragraphs), title) for paragraphs in sections_paragraphs]
    title_topic = Topic(title)
    heading_topics = _heading_topics(headings, len(pools))
    summaries = [
        _section_summary(
            pool, section_chars, section_sentences, _section_focus(pool, heading, title_topic)
        )
        for pool, heading in zip(pools, heading_topics, strict=True)
    ]
    return summaries, _article_summary(pools, heading_topics, title_topic, sentences, max_chars)


def _heading_topics(headings: Sequence[str], count: int) -> list[Topic]:
    """Each section's heading as a topic; sections without a heading get an empty one."""
    return [Topic(heading) for heading in [*headings[:count], *[""] * (count - len(headings))]]


def _article_summary(
    pools: list[list[Candidate]],
    headings: list[Topic],
    title: Topic,
    sentences: int,
    max_chars: int | None,
) -> str:
    """The article's summary: its sections' pools as one, with each section's opening."""
    pool: list[Candidate] = []
    openings: list[int] = []
    for section, heading in zip(pools, headings, strict=True):
        kept = section[: MAX_CANDIDATES - len(pool)]
        if kept and _states_topic(kept[0], heading, title):
            openings.append(len(pool))
        pool.extend(kept)
    focus = _Focus(topics=_title_topic(title), openings=tuple(openings))
    return " ".join(sentence.text for sentence in _pick(pool, sentences, max_chars, focus))


def _pool(candidates: Iterable[str], title: str = "") -> list[Candidate]:
    return [
        Candidate(text, title)
        for text in islice(candidates, MAX_CANDIDATES)
        if text and not text.isspace()
    ]


class _Focus(NamedTuple):
    """What a pool is about besides its own words: weighted topics, section openings."""

    topics: tuple[tuple[float, Topic], ...] = ()
    openings: tuple[int, ...] = ()  # positions that get OPENING_WEIGHT


def _title_topic(title: Topic) -> tuple[tuple[float, Topic], ...]:
    return ((TITLE_WEIGHT, title),) if title.size else ()


def _section_focus(pool: list[Candidate], heading: Topic, title: Topic) -> _Focus:
    topics = _title_topic(title)
    if heading.size:
        topics = ((HEADING_WEIGHT, heading), *topics)
    opens = bool(pool) and _states_topic(pool[0], heading, title)
    return _Focus(topics=topics, openings=(0,) if opens else ())


def _states_topic(opening: Candidate, heading: Topic, title: Topic) -> bool:
    """A section's opening states its topic: it names a word of the heading or title."""
    if opening.depends:
        return False
    return heading.share(opening) > 0 or title.share(opening) > 0


def _pick(
    pool: list[Candidate], sentences: int, max_chars: int | None, focus: _Focus
) -> list[Candidate]:
    """The best ``sentences`` of the pool that fit in ``max_chars``, in original order."""
    if sentences < 1 or not pool:
        return []
    scores = _scores(pool, focus)
    # Best first; a stable sort keeps equal scores in pool order.
    ranked = sorted(range(len(pool)), key=scores.__getitem__, reverse=True)
    chosen = _select(pool, _junk_last(pool, ranked), sentences, max_chars)
    if not chosen:
        # Nothing stands on its own: better one sentence that leans on another than none.
        chosen = _select(pool, _junk_last(pool, ranked), 1, max_chars, follow=False)
    return [pool[index] for index in sorted(chosen)]


def _junk_last(pool: list[Candidate], ranked: list[int]) -> Iterator[int]:
    """``ranked`` with junk moved to the end: it only fills what other sentences cannot.

    Lazy, so sentences after the last pick are never checked.
    """
    junk: list[int] = []
    for index in ranked:
        if pool[index].is_junk:
            junk.append(index)
        else:
            yield index
    yield from junk


def _scores(pool: list[Candidate], focus: _Focus) -> list[float]:
    bonuses = _POSITION_BONUS[: len(pool)]
    scores = [
        centrality + bonus for centrality, bonus in zip(_centrality(pool), bonuses, strict=True)
    ]
    for weight, topic in focus.topics:
        for index, share in enumerate(topic.shares(pool)):
            scores[index] += weight * share
    for index in focus.openings:
        scores[index] += OPENING_WEIGHT
    return scores


def _section_summary(pool: list[Candidate], max_chars: int, sentences: int, focus: _Focus) -> str:
    if max_chars < 1:
        return ""
    if sum(len(sentence.words) for sentence in pool) < SHORT_SECTION_WORDS:
        sentences = 1
    picked = _pick(pool, max(1, sentences), max_chars, focus)
    if picked:
        return " ".join(sentence.text for sentence in picked)
    best = _pick(pool, 1, None, focus)
    return _truncate(best[0].text, max_chars) if best else ""


def _split_prefix(text: str) -> list[str]:
    """Sentences of the first MAX_SCAN_CHARS characters of ``text``."""
    found = split_sentences(text[:MAX_SCAN_CHARS])
    if len(text) > MAX_SCAN_CHARS and len(found) > 1:
        found.pop()  # probably cut in the middle
    return found


def _sentences_of(paragraphs: Iterable[str]) -> list[str]:
    """Sentences of the paragraphs in order, stopping once there are enough candidates."""
    found: list[str] = []
    for paragraph in paragraphs:
        found.extend(_split_prefix(paragraph))
        if len(found) >= MAX_CANDIDATES:
            break
    return found


_terms = attrgetter("terms")


def _centrality(pool: list[Candidate]) -> list[float]:
    """Each sentence's similarity to the rest of the text, scaled so the top one is 1.

    The similarity is the cosine between the sentence's TF-IDF vector (binary term
    weights) and the centroid of all the other sentences' vectors, up to a factor
    that is the same for every sentence. Term t contributes ``idf[t]**2 * (df[t] - 1)``:
    its weight here times its weight summed over the other sentences containing it.
    """
    frequency = Counter(chain.from_iterable(map(_terms, pool))).__getitem__
    idf_squared, shared = _weights_by_count(len(pool))
    # Each sentence's counts looked up once; the sums keep each frozenset's own order.
    counts = [list(map(frequency, sentence.terms)) for sentence in pool]
    raw = [
        sum(map(shared, found)) / (math.sqrt(sum(map(idf_squared, found))) or 1.0)
        for found in counts
    ]
    top = max(raw) or 1.0
    return [value / top for value in raw]


@lru_cache(maxsize=MAX_CANDIDATES)
def _weights_by_count(total: int) -> tuple[Callable[[int], float], Callable[[int], float]]:
    """For a term in ``n`` of ``total`` sentences: ``idf**2`` and ``idf**2 * (n - 1)``, by n."""
    idf_squared = [math.log((total + 1) / (n + 0.5)) ** 2 for n in range(total + 1)]
    shared = [weight * (n - 1) for n, weight in enumerate(idf_squared)]
    return idf_squared.__getitem__, shared.__getitem__


def _select(
    pool: list[Candidate],
    ranked: Iterable[int],
    limit: int,
    max_chars: int | None,
    *,
    follow: bool = True,
) -> list[int]:
    """Positions of the first sentences in ``ranked`` that fit and are not redundant.

    With ``follow``, a sentence that depends on the one before comes with it (and with
    its own antecedent, and so on) when they all fit, and is passed over otherwise.
    """
    chosen: list[int] = []
    length = -1  # joined length: one separating space per sentence after the first
    for index in ranked:
        if index in chosen:
            continue  # came along with a sentence that leans on it
        if follow and pool[index].depends:
            unit = _with_antecedents(pool, index, chosen, limit - len(chosen))
            added = sum(1 + len(pool[position].text) for position in unit)
        else:
            unit, added = [index], 1 + len(pool[index].text)
        if not unit or len(chosen) + len(unit) > limit:
            continue
        new_length = length + added
        if max_chars is not None and new_length > max_chars:
            continue
        if any(redundant(pool[new], pool[old]) for new in unit for old in chosen):
            continue
        chosen.extend(unit)
        length = new_length
        if len(chosen) == limit:
            break
    return chosen


def _with_antecedents(pool: list[Candidate], index: int, chosen: list[int], room: int) -> list[int]:
    """``index`` and the sentences it leans on that are not chosen yet, in order.

    Empty when the chain of references runs past the start of the pool (what it refers
    to is not in the text at hand) or needs more than ``room`` sentences; the walk back
    stops there, so a long run of "He ..." sentences costs no more than a short one.
    """
    unit = [index]
    while pool[unit[-1]].depends:
        previous = unit[-1] - 1
        if previous in chosen:
            break
        if previous < 0 or len(unit) == room:
            return []
        unit.append(previous)
    return unit[::-1]


def _truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` at a word boundary so that it plus '…' fits in ``max_chars``."""
    room = max_chars - len(ELLIPSIS)
    head = text[:room]
    if len(text) > room and not text[room].isspace():
        last_space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
        if last_space > 0:
            head = head[:last_space]
    return head.rstrip(" \t\n,;:-—") + ELLIPSIS
