"""What the archive costs each store: Redis stays flat, PostgreSQL grows by a few bytes.

In one run, against a private embedded PostgreSQL and Redis and real Celery workers
(``ingest,publish`` prefork, as deployed):

1. Redis ``used_memory`` with the system started and idle (the baseline);
2. N copies of the shared sample article (default 10,000; each with its own title, so
   its own id, author and tag feeds as the sample has) submitted through the Python API
   and processed by the workers; feeds published;
   With ``--endpoints K``, each article also goes as a webhook to K endpoints of a local
   receiver, through a real I/O worker and beat;
3. once everything is delivered, Redis ``used_memory`` again (target: no more than 50 MB
   above the baseline, whatever N is: Redis holds no record), PostgreSQL's bytes per
   article, tables + indexes + TOAST, split into the article's own rows (version,
   summaries, history, feed membership, event) and the submission's raw input (dropped
   after the retention period), against the article's raw bytes (target: <= 3x), and
   bytes per delivered message (its row and its attempt, payload excluded; target: <=
   300); the payload, stored once per event, is reported apart.

    .venv/bin/python bench/storage_footprint.py [--articles 10000] [--endpoints 0]
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

from bench._common import celery, celery_worker, private_redis, wait_for  # noqa: E402
from bench.webhook_fanout import free_port  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds.webhooks.service import Webhooks  # noqa: E402
from feeds.webhooks.spec import parse_subscription  # noqa: E402
from worker.submit import Submitter  # noqa: E402

SAMPLE = REPO_ROOT.parent / "shared" / "samples" / "red-rocket-2021-ending-explained.txt"
ARTICLE_TABLES = ("articles", "article_versions", "events", "feeds", "feed_entries",
                  "feed_changes")  # fmt: skip
SUBMISSION_TABLES = ("submissions",)
DOCUMENT_TABLES = ("feed_documents",)
MESSAGE_TABLES = ("webhook_messages", "webhook_attempts")
PAYLOAD_TABLES = ("webhook_payloads",)
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
    parser.add_argument("--endpoints", type=int, default=0)
    options = parser.parse_args(argv)
    if not options.sample.exists():
        raise SystemExit(f"no sample article at {options.sample} (--sample PATH)")
    sample = options.sample.read_bytes()

    stack, env = private_redis("footprint")
    env["SYNDICATE_PUBLISH_DELAY_MS"] = "2000"
    env["SYNDICATE_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    port = free_port()
    children = start_children(env, port)
    try:
        settings = Settings.from_env(env)
        submitter = Submitter.from_settings(settings)
        client = submitter.store.client
        subscribe(Webhooks(submitter.store, settings), port, options.endpoints)
        warm = submitter.submit(copies(sample, 1, "warm")[0])
        wait_for(lambda: _done(submitter, warm.submission_id), 120)
        time.sleep(3)
        baseline = used_memory(client)
        before = sizes(stack.database_url)
        delivered_before = delivered(submitter)
        started = time.perf_counter()
        accepted = [submitter.submit(body) for body in copies(sample, options.articles, "run")]
        wait_for(lambda: submitter.store.unfinished() == 0, 3600, 1.0)
        wait_for(lambda: _feeds_published(submitter), 600, 1.0)
        wanted = delivered_before + n_messages(options)
        wait_for(lambda: delivered(submitter) >= wanted, 3600, 1.0)
        elapsed = time.perf_counter() - started
        time.sleep(3)
        after_memory = used_memory(client)
        after = sizes(stack.database_url)
        last = submitter.store.submission(accepted[-1].submission_id)
        outcome = last.result if last else None
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=60)
        stack.stop()
    report(options, raw=len(sample), elapsed=elapsed, outcome=str(outcome),
           memory=(baseline, after_memory), before=before, after=after)  # fmt: skip
    return 0


def start_children(env: dict[str, str], port: int) -> list[subprocess.Popen[bytes]]:
    """A CPU worker, an I/O worker and the fan-out bench's receiver (204 at once)."""
    receiver = [
        sys.executable, "-m", "uvicorn", "--factory", "bench.webhook_receiver:receiver_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    schedule = str(Path(env["SYNDICATE_DATA_DIR"]) / "beat-schedule")
    commands = (
        celery_worker("ingest,publish", "prefork", 2, "--loglevel", "WARNING"),
        celery_worker("deliver", "threads", 32, "--loglevel", "WARNING"),
        celery("beat", "-s", schedule, "--loglevel", "WARNING"),
        receiver,
    )
    return [
        subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for command in commands
    ]


def subscribe(webhooks: Webhooks, port: int, count: int) -> None:
    for index in range(count):
        request = {"url": f"http://127.0.0.1:{port}/ep/{index}", "max_in_flight": 8}
        webhooks.subscribe(parse_subscription(request, creating=True))


def sizes(database_url: str) -> dict[str, int]:
    return {
        "article": relation_bytes(database_url, ARTICLE_TABLES),
        "submission": relation_bytes(database_url, SUBMISSION_TABLES),
        "documents": relation_bytes(database_url, DOCUMENT_TABLES),
        "messages": relation_bytes(database_url, MESSAGE_TABLES),
        "payloads": relation_bytes(database_url, PAYLOAD_TABLES),
    }


def report(
    options: argparse.Namespace,
    *,
    raw: int,
    elapsed: float,
    outcome: str,
    memory: tuple[int, int],
    before: dict[str, int],
    after: dict[str, int],
) -> None:
    baseline, after_memory = memory
    n = options.articles
    growth = (after_memory - baseline) / MIB
    per = {name: (after[name] - before[name]) / n for name in after}
    messages = n_messages(options)
    print(f"{n:,} copies of {options.sample.name} ({raw:,} bytes each), processed and "
          f"delivered in {elapsed:.0f}s ({n / elapsed:.0f}/s); last outcome {outcome}")  # fmt: skip
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
    if messages:
        per_message = (after["messages"] - before["messages"]) / messages
        verdict = "met" if per_message <= 300 else "MISSED"
        print(f"{messages:,} webhook messages delivered ({options.endpoints} endpoints): "
              f"{per_message:,.0f} bytes per message with its attempt, payload excluded "
              f"(target <= 300)  {verdict}")  # fmt: skip
        print(f"  + {(after['payloads'] - before['payloads']) / n:,.0f} bytes of payload per "
              f"event, stored once for all its endpoints")  # fmt: skip


def n_messages(options: argparse.Namespace) -> int:
    return int(options.articles) * int(options.endpoints)


def delivered(submitter: Submitter) -> int:
    with submitter.store.db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM webhook_messages WHERE status = 'd'").fetchone()
    return int(row[0]) if row else 0


def _done(submitter: Submitter, submission_id: str) -> bool:
    submission = submitter.store.submission(submission_id)
    return submission is not None and submission.status in ("done", "failed")


def _feeds_published(submitter: Submitter) -> bool:
    from feeds import feed_store

    return feed_store.dirty_count(submitter.store.db) == 0


if __name__ == "__main__":
    raise SystemExit(main())
