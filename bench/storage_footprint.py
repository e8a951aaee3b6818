"""What the archive costs each store: Redis stays flat, PostgreSQL grows by a few bytes.

In one run, against a private embedded PostgreSQL and Redis and real Celery workers
(``ingest,publish`` prefork, as deployed):

1. Redis ``used_memory`` with the system started and idle (the baseline);
2. N copies of the shared sample article (default 10,000; each with its own title, so
   its own id, author and tag feeds as the sample has) submitted through the Python API
   and processed by the workers; feeds published;
3. Redis ``used_memory`` again (target: no more than 50 MB above the baseline, whatever N
   is: Redis holds no record), and PostgreSQL's bytes per article, tables + indexes +
   TOAST, split into the article's own rows (version, summaries, history, feed
   membership, event) and the submission's raw input (dropped after the retention
   period), against the article's raw bytes (target: <= 3x).

    .venv/bin/python bench/storage_footprint.py [--articles 10000] [--sample PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import redis  # noqa: E402

from bench._common import celery_worker, private_redis, wait_for  # noqa: E402
from config.settings import Settings  # noqa: E402
from worker.submit import Submitter  # noqa: E402

SAMPLE = REPO_ROOT.parent / "shared" / "samples" / "red-rocket-2021-ending-explained.txt"
ARTICLE_TABLES = ("articles", "article_versions", "events", "feeds", "feed_entries",
                  "feed_changes")  # fmt: skip
SUBMISSION_TABLES = ("submissions",)
DOCUMENT_TABLES = ("feed_documents",)
MIB = 2**20


def copies(sample: bytes, count: int, run: str) -> list[bytes]:
    """The sample with a distinct first line (the title, hence the id) per copy."""
    title, _, rest = sample.partition(b"\n")
    return [title + f" (copy {run} {index})".encode() + b"\n" + rest for index in range(count)]


def relation_bytes(database_url: str, tables: tuple[str, ...]) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(name::regclass)) FROM unnest(%s::text[]) name",
            (list(tables),),
        ).fetchone()
    return int(row[0] or 0) if row else 0


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    options = parser.parse_args(argv)
    if not options.sample.exists():
        raise SystemExit(f"no sample article at {options.sample} (--sample PATH)")
    sample = options.sample.read_bytes()

    stack, env = private_redis("footprint")
    env["SYNDICATE_PUBLISH_DELAY_MS"] = "2000"
    worker = subprocess.Popen(
        celery_worker("ingest,publish", "prefork", 2, "--loglevel", "WARNING"),
        env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        settings = Settings.from_env(env)
        submitter = Submitter.from_settings(settings)
        client = submitter.store.client
        warm = submitter.submit(copies(sample, 1, "warm")[0])
        wait_for(lambda: _done(submitter, warm.submission_id), 120)
        time.sleep(3)
        baseline = used_memory(client)
        before = {
            "article": relation_bytes(stack.database_url, ARTICLE_TABLES),
            "submission": relation_bytes(stack.database_url, SUBMISSION_TABLES),
            "documents": relation_bytes(stack.database_url, DOCUMENT_TABLES),
        }
        started = time.perf_counter()
        accepted = [submitter.submit(body) for body in copies(sample, options.articles, "run")]
        wait_for(lambda: submitter.store.unfinished() == 0, 3600)
        wait_for(lambda: _feeds_published(submitter), 600)
        elapsed = time.perf_counter() - started
        time.sleep(3)
        after_memory = used_memory(client)
        after = {
            "article": relation_bytes(stack.database_url, ARTICLE_TABLES),
            "submission": relation_bytes(stack.database_url, SUBMISSION_TABLES),
            "documents": relation_bytes(stack.database_url, DOCUMENT_TABLES),
        }
        outcomes = {submitter.store.submission(a.submission_id).result for a in accepted[-100:]}  # type: ignore[union-attr]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        stack.stop()

    n = options.articles
    raw = len(sample)
    growth = (after_memory - baseline) / MIB
    per = {name: (after[name] - before[name]) / n for name in after}
    last = sorted(map(str, outcomes))
    print(f"{n:,} copies of {options.sample.name} ({raw:,} bytes each), processed in "
          f"{elapsed:.0f}s ({n / elapsed:.0f}/s); last outcomes {last}")  # fmt: skip
    verdict = "met" if growth <= 50 else "MISSED"
    print(f"Redis used_memory: {baseline / MIB:.1f} MiB idle, {after_memory / MIB:.1f} MiB "
          f"after; growth {growth:+.1f} MiB (target <= 50)  {verdict}")  # fmt: skip
    ratio = per["article"] / raw
    print(f"PostgreSQL bytes per article: {per['article']:,.0f} article rows "
          f"(version with summaries, history, feed membership, event) = {ratio:.2f}x raw "
          f"(target <= 3)  {'met' if ratio <= 3 else 'MISSED'}")  # fmt: skip
    print(f"  + {per['submission']:,.0f} submission row with its raw input "
          f"({per['submission'] / raw:.2f}x raw; the input is dropped after "
          f"SYNDICATE_SUBMISSION_RETENTION)")  # fmt: skip
    print(f"  + {per['documents']:,.0f} published feed documents and archive pages "
          f"(stored once, gzip) per article")  # fmt: skip
    return 0


def _done(submitter: Submitter, submission_id: str) -> bool:
    submission = submitter.store.submission(submission_id)
    return submission is not None and submission.status in ("done", "failed")


def _feeds_published(submitter: Submitter) -> bool:
    from feeds import feed_store

    return feed_store.dirty_count(submitter.store.db) == 0


if __name__ == "__main__":
    raise SystemExit(main())
