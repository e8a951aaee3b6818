"""ROUGE benchmark: our extractive summarizer against Lead-3 and sumy's graph methods.

Reads the evaluation set (JSON lines with ``article`` and ``reference``) from
``../shared/eval/`` next to the repository, never from inside it. Every method gets the
same sentences (our :func:`split_sentences`) and returns 3 of them; ROUGE-1/2/Lsum F1 is
computed with ``rouge-score`` (stemmer on, one sentence per line).

    .venv/bin/python bench/rouge_eval.py [--data PATH]

It is a report, not a test: it always exits 0, but prints MISSED lines when our
summarizer does not reach Lead-3 on a metric.
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
from worker.core.sentences import split_sentences  # noqa: E402
from worker.core.summarize import summarize  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "eval" / "realsumm-cnndm-100.jsonl"
SUMMARY_SENTENCES = 3
METRICS = ("rouge1", "rouge2", "rougeLsum")
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
    for example in examples:
        started = time.perf_counter()
        summary = method(example.article)
        timings.append((time.perf_counter() - started) * 1000)
        scores = scorer.score("\n".join(example.reference), "\n".join(summary))
        for metric in METRICS:
            totals[metric] += scores[metric].fmeasure
    averages = {metric: 100 * total / len(examples) for metric, total in totals.items()}
    return Result(name, averages, statistics.mean(timings))


def load_examples(path: Path) -> list[Example]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [Example(str(row["article"]), [str(line) for line in row["reference"]]) for row in rows]


def print_table(results: list[Result]) -> None:
    print(f"{'method':<16} {'R1':>6} {'R2':>6} {'RLsum':>6} {'ms/article':>11}")
    for result in results:
        r1, r2, rl = (result.scores[metric] for metric in METRICS)
        print(f"{result.name:<16} {r1:6.2f} {r2:6.2f} {rl:6.2f} {result.ms_per_article:11.2f}")


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
