"""End-to-end articles/s with 1, 2 and 4 worker processes on one Redis, and what Redis pays.

For each worker count, against a fresh private embedded Redis: start N worker processes
(each ``prefork -c 1``, consuming ``ingest`` and ``publish`` as deployed), accept N
articles without queueing them, then send all their ingest tasks at once and time
until the last is stored and the feeds are published. Redis's own counters give the
commands per article (``INFO commandstats`` before and after); a separate small run
under ``MONITOR`` gives the hottest keys.

    .venv/bin/python bench/scale_workers.py [--articles 1000] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import article, private_redis, wait_for  # noqa: E402
from config.celery_app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds import feed_store  # noqa: E402
from tests.integration.conftest import WorkerProcess  # noqa: E402
from worker.submit import Submitter  # noqa: E402


def commandstats(client: object) -> dict[str, int]:
    stats = client.info("commandstats")  # type: ignore[attr-defined]
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def run(workers: int, articles: int) -> dict[str, object]:
    server, env = private_redis("scale")
    settings = Settings.from_env(env)
    app = create_app(settings)
    queued: list[str] = []
    holding = Submitter(Submitter.from_settings(settings, app).store, settings, queued.append)
    client = holding.store.client
    processes = [WorkerProcess(env, queues="ingest,publish", concurrency=1) for _ in range(workers)]
    try:
        for index in range(workers * 4):  # every process has taken a task: all are up
            app.send_task("syndicate.ping", args=[f"warm:{index}"])
        wait_for(lambda: all(client.get(f"warm:{i}") for i in range(workers * 4)), 120)
        run_id = uuid.uuid4().hex[:6]
        for index in range(articles):
            holding.submit(article(index, run_id))
        before = commandstats(client)
        start = time.perf_counter()
        for submission_id in queued:
            app.send_task("syndicate.ingest", args=[submission_id])
        store = holding.store
        wait_for(lambda: store.unfinished() == 0, 900, 0.05)
        stored = time.perf_counter() - start
        wait_for(lambda: feed_store.dirty_count(store.db) == 0
                 and not client.exists("syn:publish:scheduled"), 300, 0.05)  # fmt: skip
        published = time.perf_counter() - start
        after = commandstats(client)
        renders = sum(feed_store.renders(store.db).values())
    finally:
        for process in processes:
            process.stop()
        server.stop()
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    delta.pop("info", None)
    return {
        "workers": workers, "stored_per_s": articles / stored,
        "published_per_s": articles / published, "renders": renders,
        "commands_per_article": sum(delta.values()) / articles,
        "top_commands": sorted(delta.items(), key=lambda item: -item[1])[:6],
    }  # fmt: skip


def hottest_keys(articles: int) -> list[tuple[str, int]]:
    """Keys by commands touching them, from MONITOR during a small run (1 worker)."""
    server, env = private_redis("hot")
    settings = Settings.from_env(env)
    app = create_app(settings)
    submitter = Submitter.from_settings(settings, app)
    client = submitter.store.client
    counts: collections.Counter[str] = collections.Counter()
    worker = WorkerProcess(env, queues="ingest,publish", concurrency=1)
    try:
        app.send_task("syndicate.ping", args=["warm"])
        wait_for(lambda: client.get("warm"), 120)
        monitor = client.monitor()
        connection = monitor.__enter__()
        run_id = uuid.uuid4().hex[:6]
        for index in range(articles):
            submitter.submit(article(index, run_id))
        deadline = time.monotonic() + 120
        pattern = re.compile(r'^"?([^"\s]+)"?')
        seen = 0
        while time.monotonic() < deadline:
            # Our own polling would top the list: look only every 2,000 commands.
            seen += 1
            if seen % 2000 == 0 and client.zcard("syn:articles") >= articles:
                break
            command = connection.next_command()["command"]
            parts = command.split(" ", 2)
            if len(parts) > 1 and (match := pattern.match(parts[1])):
                key = re.sub(r"[0-9a-f]{16,}|crossing-[\w-]+", "<id>", match.group(1))
                counts[key] += 1
        monitor.__exit__(None, None, None)
    finally:
        worker.stop()
        server.stop()
    return counts.most_common(8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    options = parser.parse_args(argv)
    results = [run(int(n), options.articles) for n in options.workers.split(",")]
    base = results[0]["stored_per_s"]
    print(f"machine: {os.cpu_count()} cores; each worker process prefork -c 1; embedded Redis")
    print("| workers | stored articles/s | speed-up | published articles/s | renders | "
          "Redis commands/article |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        speedup = float(r["stored_per_s"]) / float(base)  # type: ignore[arg-type]
        print(
            f"| {r['workers']} | {r['stored_per_s']:.0f} | {speedup:.2f}× | "
            f"{r['published_per_s']:.0f} | {r['renders']} | {r['commands_per_article']:.1f} |"
        )
    print("top commands per article (first run):",
          ", ".join(f"{name} {calls / options.articles:.1f}"
                    for name, calls in results[0]["top_commands"]))  # type: ignore[attr-defined]  # fmt: skip
    print("hottest keys (MONITOR, 200 articles, 1 worker):",
          ", ".join(f"{key} {count}" for key, count in hottest_keys(200)))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
