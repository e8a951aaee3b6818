"""Speed of the pure pipeline (parse + normalize + summarize), against sumy in the same run.

For each article: the median time of ``parse_article`` (our whole pipeline), and the
median time of sumy LexRank and TextRank doing only the summarization part of the same
work (2 sentences per section, 3 for the article) on the same, already parsed text. The
three run in turns (10 of ours, then one of each sumy method, ``repeat / 10`` rounds), so
that load from other processes on a shared machine weighs on all three alike.
Targets: ours <= 5 ms median on a ~1,500-word article, and >= 10x faster than LexRank.

    .venv/bin/python bench/pipeline_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.sumy_offline import LEXRANK, TEXTRANK, Summarizer, sumy_summarizer  # noqa: E402
from worker.core.model import Article  # noqa: E402
from worker.core.pipeline import parse_article  # noqa: E402

ARTICLES = [
    REPO_ROOT / "examples" / "the-salt-road-2023-ending-explained.md",
    REPO_ROOT.parent / "shared" / "samples" / "red-rocket-2021-ending-explained.txt",
    REPO_ROOT / "examples" / "everwinter-2019-ending-explained.txt",
]
TARGET_MS = 5.0
TARGET_SPEEDUP = 10.0


@dataclass(frozen=True)
class Row:
    name: str
    words: int
    ours_ms: float
    lexrank_ms: float
    textrank_ms: float


def elapsed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleaved_medians(
    actions: dict[str, Callable[[], object]], rounds: int, ours_per_round: int
) -> dict[str, float]:
    """Median ms of each action, run in turns so that other load on the machine hits all alike.

    Each round runs "ours" ``ours_per_round`` times and every other action once.
    """
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for action in actions.values():
        action()  # warm up imports and regex compilation
    for _ in range(rounds):
        for name, action in actions.items():
            for _ in range(ours_per_round if name == "ours" else 1):
                timings[name].append(elapsed(action))
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def sumy_work(summarize: Summarizer, article: Article) -> Callable[[], object]:
    """The summarization our pipeline does, done by a sumy summarizer."""
    sections = [" ".join(section.paragraphs) for section in article.sections]
    whole = " ".join(sections)

    def run() -> object:
        summaries = [summarize(text, 2) for text in sections if text]
        return summaries, summarize(whole, 3)

    return run


def measure(path: Path, repeat: int) -> Row:
    data = path.read_bytes()
    article = parse_article(data).article
    rounds = max(5, repeat // 10)
    medians = interleaved_medians(
        {
            "ours": lambda: parse_article(data),
            "lexrank": sumy_work(sumy_summarizer(LEXRANK), article),
            "textrank": sumy_work(sumy_summarizer(TEXTRANK), article),
        },
        rounds,
        max(1, repeat // rounds),
    )
    return Row(
        name=path.name,
        words=article.word_count,
        ours_ms=medians["ours"],
        lexrank_ms=medians["lexrank"],
        textrank_ms=medians["textrank"],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="runs per article (ours)")
    options = parser.parse_args(argv)
    rows = [measure(path, options.repeat) for path in ARTICLES if path.exists()]
    print("median ms/article; ours = parse + normalize + summarize, sumy = summarize only")
    header = ("article", "words", "ours", "LexRank", "TextRank", "LexRank/ours")
    print("{:45} {:>6} {:>7} {:>8} {:>9} {:>13}".format(*header))
    for row in rows:
        ratio = row.lexrank_ms / row.ours_ms
        print(
            f"{row.name:45} {row.words:6d} {row.ours_ms:7.2f} {row.lexrank_ms:8.2f} "
            f"{row.textrank_ms:9.2f} {ratio:12.1f}x"
        )
    for row in rows:
        ratio = row.lexrank_ms / row.ours_ms
        verdict = "met" if row.ours_ms <= TARGET_MS and ratio >= TARGET_SPEEDUP else "MISSED"
        print(
            f"{verdict}: {row.name}: {row.ours_ms:.2f} ms (target <= {TARGET_MS} ms), "
            f"{ratio:.1f}x faster than LexRank (target >= {TARGET_SPEEDUP}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
