"""Soak: articles at a steady rate through the HTTP API, webhooks to 50 endpoints and
feed readers polling with conditional GETs, for 10 minutes, on loopback.

Everything runs as deployed, against a private embedded PostgreSQL and Redis: the API
(uvicorn), a CPU worker (``-Q ingest,publish -P prefork -c 2``), an I/O worker (``-Q
deliver -P threads -c 32``), beat, and a receiver process for the endpoints (answering
204 after ``--delay``). The bench submits ``--rate`` articles/s (one in ten an edit of
an earlier one) with ``POST /v1/articles`` and runs ``--pollers`` feed readers, each
fetching the main Atom, RSS and JSON feeds and one tag feed once a second with ``If-
None-Match``.

Endpoints: ``--firehose`` of the 50 take every article (``max_in_flight`` 4); the others
each follow one tag (each article has one of their tags), so an article makes
``firehose + 1`` messages. At 20 articles/s that is 120 deliveries/s, within what this
machine's fan-out measured (bench/webhook_fanout.py, ~190/s on 2 cores); 50 endpoints
taking every article would need 1,000/s.

Reported: throughput; latency p50/p99 from accepted to stored and from accepted to the
webhook delivered (every message, from the store's records); poll answers and their
latency; resident memory (RSS, every process of a group) of the workers and the API one
minute in and at the end (target: growth <= 10%); errors (non-202 submissions, failed
polls, messages not delivered, failed tasks, ERROR lines in the logs; target 0).

    .venv/bin/python bench/soak.py [--seconds 600] [--rate 20] [--endpoints 50]
        [--firehose 5] [--pollers 10] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import article, celery, private_redis, wait_for  # noqa: E402
from bench.webhook_fanout import Processes, free_port  # noqa: E402
from config.settings import Settings  # noqa: E402
from feeds.webhooks.records import STATUS_NAMES  # noqa: E402
from feeds.webhooks.service import Webhooks  # noqa: E402
from feeds.webhooks.spec import parse_subscription  # noqa: E402
from worker.store import Store  # noqa: E402
from worker.task_failures import task_failures  # noqa: E402

TOKEN = "soak-token"  # noqa: S105 - a throwaway token for a loopback-only bench
FEEDS = ("atom.xml", "rss.xml", "feed.json")
MEMORY_WARMUP = 60.0


@dataclass
class Tally:
    """What the bench's threads saw (appended under the GIL: lists and Counters only)."""

    submitted: list[tuple[str, float]] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    polls: Counter[int] = field(default_factory=Counter)
    poll_seconds: list[float] = field(default_factory=list)
    poll_errors: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--firehose", type=int, default=5)
    parser.add_argument("--pollers", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.05)
    options = parser.parse_args(argv)

    server, env = private_redis("soak")
    logs = Path(tempfile.mkdtemp(prefix="syn-soak-logs-"))
    env.update(
        SYNDICATE_API_TOKENS=TOKEN,
        SYNDICATE_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        SYNDICATE_PUBLIC_DIR=str(server.data_dir / "public"),
    )
    procs = Processes(logs)
    try:
        api, receiver = start(procs, env)
        settings = Settings.from_env(env)
        store = Store.from_settings(settings)
        subscribe(Webhooks(store, settings), receiver, options)
        tally = Tally()
        started = time.monotonic()
        memory: dict[str, dict[str, float]] = {"start": rss(procs)}
        stop = threading.Event()
        threads = [
            threading.Thread(target=poll, args=(api, n, stop, tally), daemon=True)
            for n in range(options.pollers)
        ]
        for thread in threads:
            thread.start()
        submitter = threading.Thread(target=submit, args=(api, options, tally), daemon=True)
        submitter.start()
        time.sleep(min(MEMORY_WARMUP, options.seconds / 2))
        memory["warm"] = rss(procs)
        submitter.join()
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        wait_for(lambda: drained(store), timeout=300)
        memory["end"] = rss(procs)
        report(options=options, store=store, tally=tally, memory=memory, elapsed=elapsed, logs=logs)
    finally:
        procs.stop_all()
        server.stop()
    return 0


def start(procs: Processes, env: dict[str, str]) -> tuple[httpx.Client, str]:
    api_port, receiver_port = free_port(), free_port()
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
    ]
    procs.start("api", [*uvicorn, "--port", str(api_port), "feeds.api:build_app"], env)
    procs.start(
        "receiver",
        [*uvicorn, "--port", str(receiver_port), "bench.webhook_receiver:receiver_app"],
        env,
    )
    # As deployed: with worker heartbeats (readiness and `syndicate status` use them).
    quiet = ("--without-gossip", "--without-mingle", "--loglevel", "WARNING")
    procs.start(
        "worker-cpu",
        celery("worker", "-n", "cpu@%h", "-Q", "ingest,publish", "-c", "2", *quiet),
        env,
    )
    procs.start(
        "worker-io",
        celery("worker", "-n", "io@%h", "-Q", "deliver", "-P", "threads", "-c", "32", *quiet),
        env,
    )
    procs.start("beat", celery("beat", "-s", str(procs.logs / "beat-schedule")), env)
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30)
    wait_for(lambda: _answers(api, "/readyz"), timeout=60)
    return api, f"http://127.0.0.1:{receiver_port}"


def _answers(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False


def subscribe(webhooks: Webhooks, receiver: str, options: argparse.Namespace) -> None:
    httpx.post(f"{receiver}/delay", json={"delay": options.delay})
    for number in range(options.endpoints):
        request: dict[str, object] = {"url": f"{receiver}/ep/{number}"}
        if number < options.firehose:
            request["max_in_flight"] = 4
        else:
            request["tags"] = [f"beat-{number}"]
        webhooks.subscribe(parse_subscription(request, creating=True))


def soak_article(index: int, options: argparse.Namespace) -> bytes:
    """Article ``index``; one in ten is an edit of the article ten before it."""
    edit = index % 10 == 9
    number = index - 10 if edit else index
    tag = options.firehose + number % (options.endpoints - options.firehose)
    body = article(number, "Soak", "Journey", f"Revision {2 if edit else 1}.").decode()
    title, rest = body.split("\n", 1)
    tagged = rest.replace("Author:", f"Tags: beat-{tag}\nAuthor:", 1)
    return f"{title}\n{tagged}".encode()


def submit(api: httpx.Client, options: argparse.Namespace, tally: Tally) -> None:
    count = int(options.rate * options.seconds)
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"}
    for index in range(count):
        delay = start + index / options.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            response = api.post(
                "/v1/articles", content=soak_article(index, options), headers=headers
            )
        except httpx.TransportError:
            tally.refused[0] += 1
            continue
        if response.status_code == 202:
            tally.submitted.append((response.json()["submission"], time.time()))
        else:
            tally.refused[response.status_code] += 1


def poll(api: httpx.Client, number: int, stop: threading.Event, tally: Tally) -> None:
    """A feed reader: each document once a second, revalidated with its ETag."""
    etags: dict[str, str] = {}
    paths = [f"/feeds/{name}" for name in FEEDS] + [f"/feeds/tags/beat-{5 + number}/atom.xml"]
    while not stop.wait(1.0):
        for path in paths:
            headers = {"If-None-Match": etags[path]} if path in etags else {}
            began = time.perf_counter()
            try:
                response = api.get(path, headers=headers)
            except httpx.TransportError as error:
                tally.poll_errors.append(f"{path}: {error}")
                continue
            tally.poll_seconds.append(time.perf_counter() - began)
            tally.polls[response.status_code] += 1
            if response.status_code == 200:
                etags[path] = response.headers["etag"]
            elif response.status_code not in (304, 404):  # 404: a tag feed not yet published
                tally.poll_errors.append(f"{path}: {response.status_code}")


def drained(store: Store) -> bool:
    client = store.client
    queues = sum(int(client.llen(name)) for name in ("ingest", "publish", "deliver"))
    with store.db.connection() as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM webhook_messages WHERE status IN ('s', 'q')) "
            "+ (SELECT count(*) FROM feeds WHERE changes > rendered_changes)"
        ).fetchone()
    busy = store.unfinished() or (row is not None and row[0])
    return queues == 0 and not busy


def rss(procs: Processes) -> dict[str, float]:
    """Resident MiB of each child's process group (a prefork worker and its pool)."""
    groups = {p.pid: name for name, p in procs.running.items()}
    used = dict.fromkeys(groups.values(), 0.0)
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            group = int(status.read_text().rpartition(")")[2].split()[2])
            if group not in groups:
                continue
            for line in (status.parent / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    used[groups[group]] += int(line.split()[1]) / 1024
        except (OSError, ValueError):
            continue
    return used


def latencies(store: Store, tally: Tally) -> tuple[list[float], list[float], int, Counter[str]]:
    """(accepted->stored, accepted->delivered, messages, message states), from PostgreSQL."""
    ids = [submission_id for submission_id, _ in tally.submitted]
    with store.db.connection() as conn:
        submissions = conn.execute(
            "SELECT article_id, version, extract(epoch FROM received_at), "
            "extract(epoch FROM done_at) FROM submissions WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
        messages = conn.execute(
            "SELECT p.article_id, p.version, m.status, extract(epoch FROM m.delivered_at) "
            "FROM webhook_messages m JOIN webhook_payloads p ON p.id = m.payload_id"
        ).fetchall()
    accepted_at: dict[tuple[str, int], float] = {}
    stored = []
    for article_id, version, received, done in submissions:
        if done is None:
            continue
        stored.append(float(done) - float(received))
        accepted_at[(str(article_id), int(version))] = float(received)
    delivered, states = [], Counter()
    for article_id, version, status, delivered_at in messages:
        states[STATUS_NAMES[str(status)]] += 1
        key = (str(article_id), int(version or 0))
        if delivered_at is not None and key in accepted_at:
            delivered.append(float(delivered_at) - accepted_at[key])
    return stored, delivered, len(messages), states


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def report(
    *,
    options: argparse.Namespace,
    store: Store,
    tally: Tally,
    memory: dict[str, dict[str, float]],
    elapsed: float,
    logs: Path,
) -> None:
    stored, delivered, messages, states = latencies(store, tally)
    failed_tasks = len(task_failures(store.db, limit=100_000))
    log_errors = [
        line
        for path in sorted(logs.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if " ERROR " in line or "CRITICAL" in line or "Traceback" in line
    ]
    undelivered = messages - states["delivered"]
    refused = sum(tally.refused.values())
    errors = refused + len(tally.poll_errors) + undelivered + failed_tasks + len(log_errors)
    accepted = len(tally.submitted)
    print(
        f"soak: {elapsed:.0f}s, {options.rate:g} articles/s offered, {options.endpoints} "
        f"endpoints ({options.firehose} take every article), {options.pollers} feed readers"
    )
    print(f"  articles accepted  {accepted} ({accepted / elapsed:.1f}/s); stored {len(stored)}")
    p50, p99 = _ms(statistics.median(stored)), _ms(percentile(stored, 0.99))
    print(f"  accepted->stored   p50 {p50}, p99 {p99}")
    print(
        f"  webhooks           {messages} messages ({messages / elapsed:.0f}/s), "
        f"{states['delivered']} delivered; accepted->delivered "
        f"p50 {_ms(statistics.median(delivered))}, p99 {_ms(percentile(delivered, 0.99))}"
    )
    polls = sum(tally.polls.values())
    print(
        f"  feed polls         {polls} {dict(sorted(tally.polls.items()))}; "
        f"p50 {_ms(statistics.median(tally.poll_seconds))}, "
        f"p99 {_ms(percentile(tally.poll_seconds, 0.99))}"
    )
    print("  memory (RSS MiB)   at start, after 1 min, at the end; growth after the first minute")
    growth = {}
    for name in ("api", "worker-cpu", "worker-io", "beat"):
        warm, end = memory["warm"][name], memory["end"][name]
        growth[name] = (end - warm) / warm
        start = memory["start"][name]
        print(f"    {name:<12} {start:7.1f} {warm:7.1f} {end:7.1f} {growth[name]:+7.1%}")
    redis_mib = int(store.client.info("memory")["used_memory"]) / 2**20
    print(f"    redis        {redis_mib:7.1f} at the end (queues, flags and counters only)")
    print(
        f"  errors             {errors}: refused {refused}, poll errors {len(tally.poll_errors)}, "
        f"undelivered {undelivered}, failed tasks {failed_tasks}, "
        f"error lines in logs {len(log_errors)} (logs in {logs})"
    )
    for line in (tally.poll_errors + log_errors)[:5]:
        print(f"    {line[:200]}")
    verdict = "met" if max(growth.values()) <= 0.10 and errors == 0 else "MISSED"
    print(f"  target (memory growth <= 10%, errors = 0): {verdict}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    raise SystemExit(main())
