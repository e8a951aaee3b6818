"""ROUGE benchmark: our extractive summarizer against Lead-3 and sumy's graph methods.

Reads the evaluation set (JSON lines with ``article`` and ``reference``) from
``../shared/eval/`` next to the repository, never from inside it. Every method gets the
same sentences (our :func:`split_sentences`) and returns 3 of them; ROUGE-1/2/Lsum F1 is
computed with ``rouge-score`` (stemmer on, one sentence per line).

It also counts *dangling starts*: picked sentences whose first word (after opening quotes
and brackets, cut at an apostrophe) is one of the summarizer's reference words
(``worker.core.references``: pronouns, pointers, connectives and connective phrases)
while the sentence before it in the article was not picked. The counter is its own code
and stricter than the summarizer's rule: it makes no exception for names, titles or a
quoted "it".

    .venv/bin/python bench/rouge_eval.py [--data PATH]

It is a report, not a test: it always exits 0, but prints MISSED lines when our
summarizer does not reach Lead-3 on a metric, leads it by less than ``MIN_R1_MARGIN``
ROUGE-1, or leaves a dangling start.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.sumy_offline import sumy_summarizer  # noqa: E402
from worker.core.references import (  # noqa: E402
    CONNECTIVE_PHRASES,
    OPENERS,
    REFERENCE_WORDS,
)
from worker.core.sentences import split_sentences  # noqa: E402
from worker.core.summarize import summarize  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "eval" / "realsumm-cnndm-100.jsonl"
SUMMARY_SENTENCES = 3
METRICS = ("rouge1", "rouge2", "rougeLsum")
MIN_R1_MARGIN = 0.8
Summarizer = Callable[[str], list[str]]


@dataclass(frozen=True)
class Example:
    article: str
    reference: list[str]


@dataclass
class Result:
    name: str
    scores: dict[str, float]
    ms_per_article: float
    picked: int
    dangling: list[str]


def first_words(sentence: str, count: int) -> list[str]:
    """The first ``count`` words, lower-cased, without quotes or brackets, cut at an apostrophe."""
    words: list[str] = []
    for token in sentence.split():
        word = token.lstrip(OPENERS).split("'")[0].split("’")[0].rstrip('.,;:!?"”’»)]}…—–-')
        if any(char.isalnum() for char in word):
            words.append(word.lower())
        if len(words) == count:
            break
    return words


def begins_with_reference(sentence: str) -> bool:
    words = first_words(sentence, 4)
    if words and words[0] in REFERENCE_WORDS:
        return True
    return any(tuple(words[: len(phrase)]) == phrase for phrase in CONNECTIVE_PHRASES)


def dangling_starts(sentences: list[str], summary: list[str]) -> list[str]:
    """Picked sentences that begin with a reference while the sentence before was not picked."""
    picked = {sentences.index(sentence) for sentence in summary}
    return [
        sentences[index]
        for index in sorted(picked)
        if index > 0 and index - 1 not in picked and begins_with_reference(sentences[index])
    ]


def lead3(article: str) -> list[str]:
    return split_sentences(article)[:SUMMARY_SENTENCES]


def ours(article: str) -> list[str]:
    return summarize(article, sentences=SUMMARY_SENTENCES)


def sumy_method(summarizer_class: type[LexRankSummarizer | TextRankSummarizer]) -> Summarizer:
    run = sumy_summarizer(summarizer_class)
    return lambda article: run(article, SUMMARY_SENTENCES)


def evaluate(name: str, method: Summarizer, examples: list[Example]) -> Result:
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    totals = dict.fromkeys(METRICS, 0.0)
    timings: list[float] = []
    picked = 0
    dangling: list[str] = []
    for example in examples:
        started = time.perf_counter()
        summary = method(example.article)
        timings.append((time.perf_counter() - started) * 1000)
        scores = scorer.score("\n".join(example.reference), "\n".join(summary))
        for metric in METRICS:
            totals[metric] += scores[metric].fmeasure
        picked += len(summary)
        dangling += dangling_starts(split_sentences(example.article), summary)
    averages = {metric: 100 * total / len(examples) for metric, total in totals.items()}
    return Result(name, averages, statistics.mean(timings), picked, dangling)


def load_examples(path: Path) -> list[Example]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [Example(str(row["article"]), [str(line) for line in row["reference"]]) for row in rows]


def print_table(results: list[Result]) -> None:
    header = f"{'method':<16} {'R1':>6} {'R2':>6} {'RLsum':>6} {'ms/article':>11} {'dangling':>12}"
    print(header)
    for result in results:
        r1, r2, rl = (result.scores[metric] for metric in METRICS)
        dangling = f"{len(result.dangling)}/{result.picked}"
        print(
            f"{result.name:<16} {r1:6.2f} {r2:6.2f} {rl:6.2f} "
            f"{result.ms_per_article:11.2f} {dangling:>12}"
        )


def print_verdict(lead: Result, mine: Result) -> None:
    for metric, label in zip(METRICS, ("R1", "R2", "RLsum"), strict=True):
        ok = mine.scores[metric] >= lead.scores[metric]
        verdict = "yes" if ok else "no"
        print(
            f"ours >= Lead-3 on {label}: {verdict} "
            f"({mine.scores[metric]:.2f} vs {lead.scores[metric]:.2f})"
        )
        if not ok:
            print(f"MISSED: ours is below Lead-3 on {label}")
    margin = mine.scores["rouge1"] - lead.scores["rouge1"]
    verdict = "met" if margin >= MIN_R1_MARGIN else "MISSED"
    print(f"{verdict}: ours leads Lead-3 by {margin:+.2f} R1 (target >= +{MIN_R1_MARGIN})")
    verdict = "met" if not mine.dangling else "MISSED"
    print(
        f"{verdict}: {len(mine.dangling)} of ours' {mine.picked} sentences begin with a "
        "reference whose sentence before was not picked (target 0)"
    )
    for sentence in mine.dangling:
        print(f"  dangling: {sentence[:100]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSON lines file")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"evaluation set not found: {args.data} (pass --data PATH)", file=sys.stderr)
        return 2
    examples = load_examples(args.data)
    print(
        f"{len(examples)} articles from {args.data}, "
        f"{SUMMARY_SENTENCES}-sentence summaries, ROUGE F1 x100"
    )
    methods: list[tuple[str, Summarizer]] = [
        ("Lead-3", lead3),
        ("ours", ours),
        ("sumy LexRank", sumy_method(LexRankSummarizer)),
        ("sumy TextRank", sumy_method(TextRankSummarizer)),
    ]
    results = [evaluate(name, method, examples) for name, method in methods]
    print_table(results)
    print_verdict(results[0], results[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
