"""End-to-end ingest throughput and latency through real Redis and real Celery workers.

In one run, against a private embedded Redis and one prefork worker (``-c`` = cores)
consuming ``ingest`` and ``publish`` as deployed, so feed publishing shares the CPU:

1. the ceiling: N no-op tasks (``syndicate.ping``, which only INCRs a counter) enqueued
   as fast as possible; tasks/s from first enqueue to last executed; measured before and
   after step 2, and averaged;
2. throughput: N articles submitted with the Python API (validate, store raw, enqueue)
   as fast as possible; articles/s from first submit to last stored;
3. latency: articles submitted at a fixed rate (default 50/s); p50/p99 of
   stored-time minus accepted-time.

Target: throughput >= 0.4x the ceiling; p99 < 250 ms at 50 articles/s.

    .venv/bin/python bench/e2e_throughput.py [--articles 2000] [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import redis  # noqa: E402
from celery import Celery  # noqa: E402

from bench._common import article, celery_worker, private_redis, wait_for  # noqa: E402
from config.celery_app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds import feed_store  # noqa: E402
from worker.submit import Submitter  # noqa: E402

#: How often a timed phase checks for its end (the same for the ceiling and the articles).
POLL = 0.02


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        celery_worker("ingest,publish", "prefork", concurrency, "--loglevel", "WARNING"),
        env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args(argv)

    server, env = private_redis("bench")
    settings = Settings.from_env(env)
    app = create_app(settings)
    submitter = Submitter.from_settings(settings, app)
    client = submitter.store.client
    worker = start_worker(env, options.concurrency)
    try:
        warm = f"bench:warm:{uuid.uuid4().hex}"
        app.send_task("syndicate.ping", args=[warm])
        wait_for(lambda: client.get(warm) == b"1", 60)

        n = options.articles
        ceiling_before = noop_rate(app, client, n)

        run = uuid.uuid4().hex[:6]
        bodies = [article(index, run) for index in range(n)]
        start = time.perf_counter()
        accepted = [submitter.submit(body) for body in bodies]
        submitted = time.perf_counter() - start
        last = accepted[-1].submission_id
        wait_for(lambda: _done(submitter, last), 600, POLL)
        wait_for(
            lambda: all(_done(submitter, item.submission_id) for item in accepted[-50:]), 600, POLL
        )
        throughput = n / (time.perf_counter() - start)
        outcomes = {submitter.store.submission(item.submission_id).result for item in accepted}  # type: ignore[union-attr]

        renders = feed_store.renders(submitter.store.db)
        # Measured again after (once the last feeds are published): the mean of the two
        # is less at the mercy of a load that came and went during one of them.
        store = submitter.store
        wait_for(lambda: feed_store.dirty_count(store.db) == 0
                 and not client.exists(store.keys.publish_scheduled), 120, POLL)  # fmt: skip
        ceiling = (ceiling_before + noop_rate(app, client, n)) / 2
        latencies = _paced(submitter, options.rate, options.seconds, run)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        server.stop()

    report(
        options, ceiling=ceiling, throughput=throughput, submit_rate=n / submitted,
        outcomes=sorted(map(str, outcomes)), renders=renders, latencies=latencies,
    )  # fmt: skip
    return 0


def noop_rate(app: Celery, client: redis.Redis, n: int) -> float:
    """No-op tasks per second: ``n`` sent as fast as possible, until the last ran."""
    counter = f"bench:noop:{uuid.uuid4().hex}"
    start = time.perf_counter()
    for _ in range(n):
        app.send_task("syndicate.ping", args=[counter])
    wait_for(lambda: int(client.get(counter) or 0) >= n, 600, POLL)
    return n / (time.perf_counter() - start)


def report(
    options: argparse.Namespace,
    *,
    ceiling: float,
    throughput: float,
    submit_rate: float,
    outcomes: list[str],
    renders: dict[str, int],
    latencies: list[float],
) -> None:
    n = options.articles
    ratio = throughput / ceiling
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    cores, workers = os.cpu_count(), options.concurrency
    print(f"machine: {cores} cores; worker: prefork -c {workers}; Redis: embedded, Unix socket")
    print(f"no-op ceiling:      {ceiling:8.1f} tasks/s    ({n} syndicate.ping tasks; the mean "
          "of a run before and one after the articles)")  # fmt: skip
    print(
        f"ingest throughput:  {throughput:8.1f} articles/s ({n} articles; submitting alone "
        f"{submit_rate:.0f}/s; outcomes {outcomes})"
    )
    print(f"ratio:              {ratio:8.2f}x the ceiling (target >= 0.40)")
    print(f"feed renders during the burst: {sum(renders.values())} over {len(renders)} feeds")
    print(
        f"latency at {options.rate:.0f}/s:   p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"over {len(latencies)} articles (target p99 < 250 ms)"
    )
    print(("met" if ratio >= 0.4 else "MISSED") + ": throughput target")
    print(("met" if p99 < 250 else "MISSED") + ": latency target")


def _done(submitter: Submitter, submission_id: str) -> bool:
    submission = submitter.store.submission(submission_id)
    return submission is not None and submission.status in ("done", "failed")


def _paced(submitter: Submitter, rate: float, seconds: float, run: str) -> list[float]:
    count = int(rate * seconds)
    interval = 1.0 / rate
    accepted = []
    start = time.perf_counter()
    for index in range(count):
        target = start + index * interval
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        accepted.append(submitter.submit(article(100_000 + index, run + "p")))
    wait_for(lambda: all(_done(submitter, item.submission_id) for item in accepted[-20:]), 120)
    latencies = []
    for item in accepted:
        submission = submitter.store.submission(item.submission_id)
        assert submission is not None and submission.done_at is not None
        latencies.append(submission.done_at - submission.received_at)
    return latencies


if __name__ == "__main__":
    raise SystemExit(main())
