"""Feed publishing: cost against store size, render time, and 304 throughput.

In one run, against a private embedded PostgreSQL and Redis:

1. publish latency after one new article (ingest body + ``publish_dirty``) with 100 and
   with 100,000 articles already in the feed; median of 20 runs each, the two feeds
   taking turns; the ratio (target <= 1.2: publishing cost must not grow with the store);
2. render time per format for 50 and 1,000 entries (pure functions);
3. requests/s of a conditional GET answered 304 against requests/s of a bare route
   (``/healthz``) of the same server, same client, same run (target >= 0.7x).

    .venv/bin/python bench/publish_scaling.py [--large 100000]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import msgspec  # noqa: E402

from bench._common import private_redis  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds.publish import Publisher  # noqa: E402
from feeds.render import FeedSpec, render_atom, render_json_feed, render_rss  # noqa: E402
from worker.core.model import Article  # noqa: E402
from worker.core.options import DEFAULT_OPTIONS  # noqa: E402
from worker.core.pipeline import parse_article  # noqa: E402
from worker.ingest import process_submission  # noqa: E402
from worker.store import Store  # noqa: E402

EXAMPLE = REPO_ROOT / "examples" / "everwinter-2019-ending-explained.txt"
RENDERERS: dict[str, Callable[[FeedSpec, list[Article]], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json_feed,
}


def seed(store: Store, feed: str, count: int, template: Article) -> None:
    """Write ``count`` stored articles into ``feed`` the way commits leave them (COPY)."""
    base = datetime(2020, 9, 13, tzinfo=UTC)
    with store.db.connection() as conn, conn.transaction():
        conn.execute("INSERT INTO feeds (key, name, ordinals_issued) VALUES (%s, %s, %s)",
                     (feed, feed.partition(":")[2], count))  # fmt: skip
        with conn.cursor().copy(
            "COPY articles (id, status, version, content_hash, published_at) FROM STDIN"
        ) as copy:
            for index in range(count):
                when = base + timedelta(seconds=index)
                copy.write_row((f"seed-{feed}-{index}", "published", 1, "seed", when))
        with conn.cursor().copy(
            "COPY article_versions (article_id, version, event, content_hash, at, "
            "submission_id, document) FROM STDIN"
        ) as copy:
            for index in range(count):
                article_id = f"seed-{feed}-{index}"
                article = msgspec.structs.replace(template, id=article_id, title=f"Seeded {index}")
                copy.write_row((article_id, 1, "article.published", "seed", base, "seed",
                                article.to_json()))  # fmt: skip
        with conn.cursor().copy(
            "COPY feed_entries (feed, article_id, ordinal, published_at) FROM STDIN"
        ) as copy:
            for index in range(count):
                when = base + timedelta(seconds=index)
                copy.write_row((feed, f"seed-{feed}-{index}", index, when))
        conn.execute("ANALYZE")


def publish_latencies(store: Store, settings: Settings, tags: list[str], runs: int) -> list[float]:
    """Median ms, per tag feed, of ingesting one new article into it and publishing.

    Every new article also enters the main feed. The main feed is filled to its size
    first and the feeds take turns run by run, so each one's render of the main feed is
    the same size: timed one feed after the other, the second would render a main feed
    twice as full, a cost of run order, not of the tag feed's size.
    """
    publisher = Publisher(store, settings)
    for index in range(settings.feed_entries):
        _time_one(store, publisher, f"Warm {index}", f"warm-{index}", None)
    timings: dict[str, list[float]] = {tag: [] for tag in tags}
    for run in range(runs):
        for tag in tags:
            timings[tag].append(_time_one(store, publisher, f"{tag} {run}", f"{tag}-{run}", tag))
    return [statistics.median(timings[tag]) * 1000 for tag in tags]


def _time_one(store: Store, publisher: Publisher, title: str, slug: str, tag: str | None) -> float:
    tags = f"Tags: {tag}\n" if tag else ""
    body = f"New Arrival {title}\nA description.\n{tags}Part\nText.\n".encode()
    submission = store.accept(
        kind="upsert", article_id=f"new-arrival-{slug}", received_at=time.time(),
        raw=body, format="text",
    )  # fmt: skip
    with store.db.connection() as conn:  # only this article's renders are timed
        conn.execute("UPDATE feeds SET rendered_changes = changes")
    start = time.perf_counter()
    process_submission(store, submission.id, DEFAULT_OPTIONS, now=time.time())
    publisher.publish_dirty()
    return time.perf_counter() - start


def render_times(template: Article) -> list[tuple[int, dict[str, float]]]:
    spec = FeedSpec(
        key="main", title="Bench", description="Bench", site_url="https://b.example/",
        folder_url="https://b.example/feeds/", publisher="Bench",
    )  # fmt: skip
    rows = []
    for size in (50, 1000):
        articles = [
            msgspec.structs.replace(template, id=f"a{index}", title=f"Entry {index}")
            for index in range(size)
        ]
        timings: dict[str, list[float]] = {"atom": [], "rss": [], "json": []}
        for _ in range(5 if size > 100 else 30):
            for kind, samples in timings.items():
                start = time.perf_counter()
                RENDERERS[kind](spec, articles)
                samples.append(time.perf_counter() - start)
        rows.append(
            (size, {kind: statistics.median(values) * 1000 for kind, values in timings.items()})
        )
    return rows


def requests_per_second(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    """Keep-alive GETs from 4 client threads for ``seconds``; responses per second."""
    counts = [0] * 4
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        while time.monotonic() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            counts[slot] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def serve_and_measure(
    env: dict[str, str], path: str, etag: str, seconds: float
) -> tuple[float, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "feeds.api:build_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        identity = {"Accept-Encoding": "identity"}
        not_modified = requests_per_second(
            port, "/feeds/" + path, {**identity, "If-None-Match": etag}, seconds
        )
        hello = requests_per_second(port, "/healthz", identity, seconds)
        return not_modified, hello
    finally:
        server.terminate()
        server.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    options = parser.parse_args(argv)

    template = parse_article(EXAMPLE.read_bytes()).article
    server, env = private_redis("pub")
    try:
        settings = Settings.from_env(env)
        store = Store.from_settings(settings)
        seed(store, "tag:small", 100, template)
        started = time.perf_counter()
        seed(store, "tag:large", options.large, template)
        seeded_in = time.perf_counter() - started
        small, large = publish_latencies(store, settings, ["small", "large"], options.runs)
        document = Publisher(store, settings).document("tags/large/atom.xml")
        assert document is not None
        not_modified, hello = serve_and_measure(
            env, "tags/large/atom.xml", document.etag, options.seconds
        )
    finally:
        server.stop()

    ratio = large / small
    print(
        f"publish after one new article (median of {options.runs}; "
        f"seeded {options.large:,} in {seeded_in:.1f}s):"
    )
    print(f"  feed with 100 articles:        {small:7.2f} ms")
    print(f"  feed with {options.large:,} articles:  {large:7.2f} ms")
    print(f"  ratio: {ratio:.2f} (target <= 1.2)  {'met' if ratio <= 1.2 else 'MISSED'}")
    print("render time, median ms:")
    for size, timings in render_times(template):
        print(
            f"  {size:5d} entries: "
            + "  ".join(f"{kind} {value:7.2f}" for kind, value in timings.items())
        )
    rate = not_modified / hello
    print(
        f"conditional GET answered 304: {not_modified:7.0f} req/s; "
        f"bare /healthz: {hello:7.0f} req/s"
    )
    print(f"  ratio: {rate:.2f} (target >= 0.7)  {'met' if rate >= 0.7 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
