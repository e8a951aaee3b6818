"""Webhook fan-out: one article to 1,000 endpoints, against a sequential ``requests`` loop.

In one run, against a private embedded Redis and PostgreSQL, a local receiver
(``bench/webhook_receiver.py``: a minimal ASGI app under uvicorn, in its own process)
that answers ``POST /ep/{i}`` with 204 after ``--delay`` seconds (a partner's response
time), and the workers as ``syndicate up`` runs them (``-Q ingest,publish -P prefork
-c 2``, ``-Q deliver -P threads -c N``, beat):

1. baseline: one ``requests.Session`` POSTing a signed article payload to each of the
   endpoint URLs in turn, wall time (no worker running);
2. fan-out: the endpoints subscribed (one per path), ONE article submitted; wall time
   from the submit to the receiver's answer to the last of the deliveries (and to the
   first, and to 99 % of them), for each ``--threads`` value of the I/O worker
   (restarted between them);
3. sustained: receiver delay 0, ``--articles`` articles submitted at once to the same
   endpoints; deliveries/s from the first submit to the last delivery answered; and the
   no-op ceiling (``syndicate.ping``) of the same I/O worker on the ``deliver`` queue;
4. black holes (last; ``--no-holes`` skips it): as 3, with the first 10 endpoints never
   answering; the deliveries/s of the healthy ones, against 3.

Counts come from the receiver (distinct ``webhook-id`` and paths; a sample of
signatures is verified with the ``standardwebhooks`` library) and are cross-checked with
the delivery counters of the store. Each phase is measured ``--repeat`` times (median
shown). The CPU used by every process during each phase is read from ``/proc``, including
that of processes outside the bench ("others' CPU": the machine may be shared); CPU per
delivery sums syndicate's processes (workers, beat, Redis, PostgreSQL). Targets:
fan-out >= 1,000 deliveries/s and >= 50x the baseline, sustained >= 1,000/s, <= 0.5 ms
of CPU per delivery, first delivery answered <= 100 ms after the article is stored (its
ingest's ``done_at``) and p99 <= 1.5 s after the submit, the
healthy endpoints >= 90 % of the sustained rate with black holes.

    .venv/bin/python bench/webhook_fanout.py [--endpoints 1000] [--delay 0.05]
        [--articles 10] [--threads 16,64] [--repeat 3] [--io-workers 1] [--keep]
        [--no-holes]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import PrivateStack, article, celery, celery_worker  # noqa: E402
from bench.webhook_procs import MACHINE, Processes, free_port, wait_for  # noqa: E402
from bench.webhook_receiver import concurrent_posts  # noqa: E402
from bench.webhook_report import (  # noqa: E402
    OURS_MS,
    Fanout,
    Holes,
    Results,
    Sustained,
    report,
    timeline,
)

#: syndicate's processes (not the receiver, the bench itself nor others').
OURS = ("worker-cpu", "worker-io", "beat", "redis", "postgres")
#: Endpoints that never answer in the black-hole phase.
BLACK_HOLES = 10

# The bench


def fanout_article(index: int, run: str) -> bytes:
    return article(index, run, "Fan-out", "A short feature for the webhook benchmark.")


class Bench:
    """The services of one run: Redis, PostgreSQL, receiver, workers, and the client side."""

    def __init__(self, options: argparse.Namespace, server: Any, procs: Processes) -> None:
        import requests

        from config.celery_app import create_app
        from config.settings import Settings
        from feeds.webhooks.service import Webhooks
        from worker.submit import Submitter

        self.options = options
        self.n = options.endpoints
        self.procs = procs
        self.env = {
            **os.environ, "REDIS_URL": server.url, "DATABASE_URL": server.database_url,
            "PYTHONPATH": str(REPO_ROOT),
            "SYNDICATE_DATA_DIR": str(procs.logs / "data"),
            "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "SYNDICATE_API_TOKENS": "bench",
        }  # fmt: skip
        settings = Settings.from_env(self.env)
        self.app = create_app(settings)
        self.submitter = Submitter.from_settings(settings, self.app)
        self.client = self.submitter.store.client
        self.webhooks = Webhooks(self.submitter.store, settings)
        self.control = requests.Session()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.run_id = uuid.uuid4().hex[:6]
        self.articles = 0
        self.secrets: list[str] = []
        self.baseline_busy: dict[str, float] = {}
        procs.pids["redis"] = int((server.data_dir / "redis.pid").read_text())
        # Every PostgreSQL backend is a child of the postmaster (in a session of its own).
        procs.parents["postgres"] = int(
            (server.postgres.cluster / "postmaster.pid").read_text().split()[0]
        )
        procs.pids["bench"] = os.getpid()

    # The receiver

    def receiver(self, method: str, path: str, document: object = None) -> Any:
        response = self.control.request(method, self.base + path, json=document, timeout=30)
        response.raise_for_status()
        return response.json()

    def start_receiver(self) -> str:
        import requests

        self.procs.start("receiver", [
            sys.executable, "-m", "uvicorn", "--factory", "bench.webhook_receiver:receiver_app",
            "--host", "127.0.0.1", "--port", str(self.port), "--backlog", "2048",
            "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        ], self.env)  # fmt: skip

        def answering() -> bool:
            try:
                self.receiver("GET", "/count")
            except requests.ConnectionError:
                return False
            return True

        wait_for(answering, 30, "the receiver", self.procs)
        count, delay = 200, 0.2
        self.receiver("POST", "/delay", {"delay": delay})
        self.receiver("POST", "/reset")
        took, answered = asyncio.run(concurrent_posts(self.port, count))
        peak = self.receiver("GET", "/count")["peak"]
        if answered != count or peak < 100:
            raise SystemExit(f"receiver: {answered}/{count} answered, {peak} at once (want 100)")
        return (
            f"receiver check: {count} concurrent connections, {delay} s each: all answered "
            f"204 in {took:.2f} s, {peak} in flight at once"
        )

    # The baseline

    def subscribe(self) -> str:
        from feeds.webhooks.spec import parse_subscription

        started = time.perf_counter()
        for index in range(self.n):
            changes = parse_subscription({"url": f"{self.base}/ep/{index}"}, creating=True)
            self.secrets.append(self.webhooks.subscribe(changes)[1])
        return f"subscribed {self.n} endpoints in {time.perf_counter() - started:.1f} s"

    def baseline(self) -> tuple[float, int]:
        """Sequential signed POSTs of a real payload over one keep-alive session."""
        import requests

        from feeds.webhooks.signing import webhook_headers
        from feeds.webhooks.store import new_message_id

        body = self._payload(fanout_article(0, self.run_id + "b"))
        self.receiver("POST", "/delay", {"delay": self.options.delay})
        self.receiver("POST", "/reset")
        session = requests.Session()
        cpu = self.procs.cpu_seconds()
        start = time.monotonic()
        started = time.perf_counter()
        for index, secret in enumerate(self.secrets):
            headers = webhook_headers([secret], new_message_id(), int(time.time()), body)
            response = session.post(
                f"{self.base}/ep/{index}", data=body, headers=headers, timeout=20
            )
            if response.status_code != 204:
                raise SystemExit(f"baseline: {response.status_code} from /ep/{index}")
        took = time.perf_counter() - started
        self.baseline_busy = self.busy(cpu, start)
        state = self.receiver("GET", "/count")
        if not state["done"] == state["ids"] == state["paths"] == self.n:
            raise SystemExit(f"baseline: the receiver counted {state}, want {self.n}")
        self._verify_samples()
        return took, len(body)

    def _payload(self, raw: bytes) -> bytes:
        """The body the service sends for ``raw`` (built in-process)."""
        from datetime import UTC, datetime

        from feeds.webhooks.payload import build_article_payload
        from worker.core.pipeline import parse_article

        parsed = parse_article(raw, options=self.webhooks.settings.core).article
        stamp = datetime.now(UTC)
        links = self.webhooks.feed_links(parsed)
        return build_article_payload(
            "article.published", parsed, version=1, timestamp=stamp, feeds=links
        )

    # Ours

    def start_workers(self) -> None:
        self.procs.start("worker-cpu", celery_worker(
            "ingest,publish", "prefork", os.cpu_count() or 2,
            "-n", "cpu-bench@%h", "--loglevel", self.options.log_level,
        ), self.env)  # fmt: skip
        schedule = str(self.procs.logs / "beat-schedule")
        self.procs.start("beat", celery(
            "beat", "-s", schedule, "--loglevel", self.options.log_level
        ), self.env)  # fmt: skip
        self.ping("ingest", 1)

    def start_io(self, threads: int) -> None:
        for k in range(self.options.io_workers):
            self.procs.start(f"worker-io-{threads}-{k}", celery_worker(
                "deliver", "threads", threads,
                "-n", f"io-{threads}-{k}-bench@%h", "--loglevel", self.options.log_level,
            ), self.env)  # fmt: skip
        self.ping("deliver", 1)

    def stop_io(self, threads: int) -> None:
        for k in range(self.options.io_workers):
            self.procs.stop(f"worker-io-{threads}-{k}")

    def submit(self) -> str:
        """Submit the next article; returns its submission id."""
        self.articles += 1
        return self.submitter.submit(fanout_article(self.articles, self.run_id)).submission_id

    def stored_after(self, submission_id: str, submitted: float) -> float:
        """Seconds from ``submitted`` (wall clock) to the article's store: its
        ``done_at``, the ingest's clock when it began, a few ms before its commit (so
        the time from there to a delivery is, if anything, overstated)."""
        submission = self.submitter.store.submission(submission_id)
        assert submission is not None and submission.done_at is not None
        return submission.done_at - submitted

    def fanout(self, threads: int) -> Fanout:
        """One article to every endpoint: submit until the last delivery is answered."""
        n = self.n
        self.receiver("POST", "/delay", {"delay": self.options.delay})
        self.receiver("POST", "/reset")
        before = self.webhooks.store.stats()
        cpu = self.procs.cpu_seconds()
        start, submitted = time.monotonic(), time.time()
        submission_id = self.submit()
        wait_for(lambda: self.receiver("GET", "/count")["done"] >= n, 300, "the fan-out",
                 self.procs)  # fmt: skip
        busy = self.busy(cpu, start)
        state = self.settled(before, n, f"fan-out, -c {threads}")
        times = self.receiver("GET", "/times")
        p99 = times[max(0, -(-n * 99 // 100) - 1)] - start
        return Fanout(
            threads, state["last"] - start, state["first"] - start,
            self.stored_after(submission_id, submitted), times[n // 2 - 1] - start,
            p99, state["peak"], timeline(times, start, 0.5), busy,
        )  # fmt: skip

    def sustained(self, threads: int) -> Sustained:
        """Several articles at once, receiver delay 0: deliveries/s."""
        total = self.n * self.options.articles
        self.receiver("POST", "/delay", {"delay": 0})
        self.receiver("POST", "/reset")
        before = self.webhooks.store.stats()
        cpu = self.procs.cpu_seconds()
        start = time.monotonic()
        for _ in range(self.options.articles):
            self.submit()
        wait_for(lambda: self.receiver("GET", "/count")["done"] >= total, 600, "the deliveries",
                 self.procs)  # fmt: skip
        busy = self.busy(cpu, start)
        state = self.settled(before, total, f"sustained, -c {threads}")
        times = self.receiver("GET", "/times")
        wall = state["last"] - start
        return Sustained(threads, total, wall, 0.0, timeline(times, start, 5.0), busy)

    def with_holes(self, threads: int) -> Holes:
        """Like :meth:`sustained`, with the first endpoints black holes: the healthy
        endpoints' deliveries/s. Run last: the black holes' messages stay pending."""
        healthy = (self.n - BLACK_HOLES) * self.options.articles
        self.receiver("POST", "/delay", {"delay": 0})
        self.receiver("POST", "/holes", {"count": BLACK_HOLES})
        self.receiver("POST", "/reset")
        cpu = self.procs.cpu_seconds()
        start = time.monotonic()
        for _ in range(self.options.articles):
            self.submit()
        wait_for(lambda: self.receiver("GET", "/count")["done"] >= healthy, 600,
                 "the healthy endpoints' deliveries", self.procs)  # fmt: skip
        busy = self.busy(cpu, start)
        time.sleep(0.5)  # a duplicate would show up here
        state = self.receiver("GET", "/count")
        if not state["done"] == state["ids"] == healthy or state["unsigned"]:
            raise SystemExit(f"black holes, -c {threads}: receiver state {state}, want {healthy}")
        # A black hole holds its requests (up to its in-flight cap) until they time out:
        # in a repeated run it may still hold the previous run's and get no new one.
        if not state["swallowed"] and not state["hanging"]:
            raise SystemExit(f"black holes, -c {threads}: no request reached a black hole")
        times = self.receiver("GET", "/times")
        wall = state["last"] - start
        return Holes(threads, healthy, wall, state["swallowed"], timeline(times, start, 5.0), busy)

    def ceiling(self) -> float:
        return self.ping("deliver", self.options.pings) if self.options.pings else 0.0

    def busy(self, before: dict[str, float], start: float) -> dict[str, float]:
        """Cores kept busy by each process (group) since ``start``; under ``OURS_MS``,
        the milliseconds of CPU used by syndicate's own processes since then."""
        wall = time.monotonic() - start
        after = self.procs.cpu_seconds()
        busy = {name: (used - before.get(name, 0.0)) / wall for name, used in after.items()}
        busy["other processes"] = max(0.0, 2 * busy[MACHINE] - sum(busy.values()))
        del busy[MACHINE]
        busy[OURS_MS] = 1000 * wall * sum(busy.get(name, 0.0) for name in OURS)
        return busy

    def ping(self, queue: str, count: int) -> float:
        """Send ``count`` no-op tasks to ``queue``; tasks/s until the last has run."""
        counter = f"bench:ping:{uuid.uuid4().hex}"
        started = time.perf_counter()
        for _ in range(count):
            self.app.send_task("syndicate.ping", args=[counter], queue=queue)
        wait_for(lambda: int(self.client.get(counter) or 0) >= count, 120, f"pings on {queue}",
                 self.procs)  # fmt: skip
        return count / (time.perf_counter() - started)

    def settled(self, before: dict[str, int], expected: int, phase: str) -> dict[str, Any]:
        """Once the receiver counted ``expected``: the store agrees, nothing more arrives."""
        store = self.webhooks.store

        def delta(name: str) -> int:
            return store.stats().get(name, 0) - before.get(name, 0)

        wait_for(lambda: delta("attempts_delivered") >= expected, 60, "the store", self.procs)
        wait_for(lambda: store.stats()["scheduled"] == 0, 60, "an empty schedule", self.procs)
        time.sleep(0.5)  # a duplicate or late delivery would show up here
        state: dict[str, Any] = self.receiver("GET", "/count")
        counts = {
            "received": state["done"],
            "distinct webhook-ids": state["ids"],
            "recorded deliveries": delta("attempts_delivered"),
        }
        problems = [
            f"{name} {got} != {expected}" for name, got in counts.items() if got != expected
        ]
        problems += [
            f"{name}: {delta(name)}" for name in ("attempts_failed", "dead_letters") if delta(name)
        ]
        if state["unsigned"] or state["paths"] != self.n:
            problems.append(f"receiver state {state}")
        if problems:
            raise SystemExit(f"{phase}: " + "; ".join(problems) + f"; logs in {self.procs.logs}")
        self._verify_samples()
        return state

    def _verify_samples(self) -> None:
        """Check the sampled requests' signatures with the standardwebhooks library."""
        from standardwebhooks.webhooks import Webhook

        samples = self.receiver("GET", "/samples")
        assert samples, "the receiver kept no sample"
        for path, sample in samples.items():
            secret = self.secrets[int(path.removeprefix("/ep/"))]
            body = sample.pop("body")
            Webhook(secret).verify(body, sample)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05, help="receiver response time (s)")
    parser.add_argument("--articles", type=int, default=10, help="articles of the sustained run")
    parser.add_argument("--threads", default="16,64", help="I/O worker threads to measure")
    parser.add_argument("--repeat", type=int, default=3, help="fan-outs per --threads value")
    parser.add_argument("--io-workers", type=int, default=1, help="I/O worker processes")
    parser.add_argument("--pings", type=int, default=2000, help="no-op tasks (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep logs and data")
    parser.add_argument("--log-level", default="WARNING", help="of the Celery processes")
    parser.add_argument("--no-holes", dest="holes", action="store_false",
                        help=f"skip the phase with {BLACK_HOLES} black-hole endpoints")  # fmt: skip
    options = parser.parse_args(argv)
    options.thread_counts = [int(item) for item in options.threads.split(",") if item]

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)

    tmp = Path(f"/tmp/syn-fanout-{uuid.uuid4().hex[:8]}")  # noqa: S108
    tmp.mkdir(parents=True)
    procs = Processes(tmp)
    server = PrivateStack(tmp / "stack")
    ok = False
    try:
        results = run(options, server, procs)
        ok = True
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        server.stop()
        if ok and not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs and data kept in {tmp}", file=sys.stderr)
    report(options, results)
    return 0


def run(options: argparse.Namespace, server: Any, procs: Processes) -> Results:
    bench = Bench(options, server, procs)
    notes = [bench.start_receiver(), bench.subscribe()]
    results = Results(*bench.baseline(), notes=notes)
    results.baseline_busy = bench.baseline_busy
    bench.start_workers()
    for threads in options.thread_counts:
        bench.start_io(threads)
        runs = [bench.fanout(threads) for _ in range(options.repeat)]
        results.fanouts.append(sorted(runs, key=lambda run: run.wall))
        steady = sorted((bench.sustained(threads) for _ in range(options.repeat)),
                        key=lambda run: run.wall)  # fmt: skip
        steady[(len(steady) - 1) // 2].ceiling = bench.ceiling()
        results.sustained.append(steady)
        bench.stop_io(threads)
    if options.holes:
        threads = options.thread_counts[0]
        bench.start_io(threads)
        holes = [bench.with_holes(threads) for _ in range(options.repeat)]
        results.holes = sorted(holes, key=lambda run: run.wall)
        bench.stop_io(threads)
    results.notes.append(f"store counters at the end: {bench.webhooks.store.stats()}")
    results.notes.extend(_log_trouble(procs.logs))
    return results


def _log_trouble(logs: Path) -> list[str]:
    notes = []
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        errors = text.count("ERROR") + text.count("Traceback")
        if errors:
            notes.append(f"{log.name}: {errors} ERROR/Traceback lines (kept with --keep)")
    return notes or ["worker, beat and receiver logs: no ERROR or Traceback"]


if __name__ == "__main__":
    raise SystemExit(main())
