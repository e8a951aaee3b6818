"""Speed of the pure pipeline (parse + normalize + summarize), against sumy in the same run.

For each article: the median time of ``parse_article`` (our whole pipeline), and the
median time of sumy LexRank and TextRank doing only the summarization part of the same
work (2 sentences per section, 3 for the article) on the same, already parsed text.
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


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm up imports and regex compilation
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


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
    return Row(
        name=path.name,
        words=article.word_count,
        ours_ms=median_ms(lambda: parse_article(data), repeat),
        lexrank_ms=median_ms(sumy_work(sumy_summarizer(LEXRANK), article), max(5, repeat // 10)),
        textrank_ms=median_ms(sumy_work(sumy_summarizer(TEXTRANK), article), max(5, repeat // 10)),
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
