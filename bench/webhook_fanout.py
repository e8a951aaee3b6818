"""Webhook fan-out: one article to 1,000 endpoints, against a sequential ``requests`` loop.

In one run, against a private embedded Redis and PostgreSQL, a local receiver (a minimal ASGI app
under uvicorn, in its own process) that answers ``POST /ep/{i}`` with 204 after
``--delay`` seconds (a partner's response time), and the workers as ``syndicate up``
runs them (``-Q ingest,publish -P prefork -c 2``, ``-Q deliver -P threads -c N``, beat):

1. baseline: one ``requests.Session`` POSTing a signed article payload to each of the
   endpoint URLs in turn, wall time (no worker running);
2. fan-out: the endpoints subscribed (one per path), ONE article submitted; wall time
   from the submit to the receiver's answer to the last of the deliveries, for each
   ``--threads`` value of the I/O worker (restarted between them);
3. sustained: receiver delay 0, ``--articles`` articles submitted at once to the same
   endpoints; deliveries/s from the first submit to the last delivery answered; and the
   no-op ceiling (``syndicate.ping``) of the same I/O worker on the ``deliver`` queue.

Counts come from the receiver (distinct ``webhook-id`` and paths; a sample of
signatures is verified with the ``standardwebhooks`` library) and are cross-checked with
the delivery counters of the store. Each fan-out is measured ``--repeat`` times (median
shown). The CPU used by every process during each phase is read from ``/proc``, including
that of processes outside the bench ("others' CPU": the machine may be shared). Target:
fan-out >= 10x faster than the baseline.

    .venv/bin/python bench/webhook_fanout.py [--endpoints 1000] [--delay 0.05]
        [--articles 10] [--threads 16,64] [--repeat 3] [--io-workers 1] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import PrivateStack, article, celery, celery_worker  # noqa: E402

SAMPLE_EVERY = 250  # the receiver keeps the last request of every 250th path
POLL = 0.02
MACHINE = "machine"

# The receiver (runs in its own process: uvicorn --factory bench.webhook_fanout:receiver_app)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """Counts webhook requests; ``POST /ep/{i}`` waits ``delay`` seconds, then answers 204.

    ``GET /count`` (counters), ``GET /times`` (completion times), ``GET /samples``,
    ``POST /delay`` ({"delay": seconds}) and ``POST /reset``. Times are
    ``time.monotonic()``, which is system-wide on Linux: comparable with the bench's."""

    def __init__(self) -> None:
        self.delay = 0.05
        self.reset()

    def reset(self) -> None:
        self.begun = 0
        self.done = 0
        self.unsigned = 0
        self.in_flight = 0
        self.peak = 0
        self.ids: set[str] = set()
        self.paths: set[str] = set()
        self.times: list[float] = []
        self.samples: dict[str, dict[str, str]] = {}

    def state(self) -> dict[str, Any]:
        return {
            "begun": self.begun,
            "done": self.done,
            "ids": len(self.ids),
            "paths": len(self.paths),
            "unsigned": self.unsigned,
            "in_flight": self.in_flight,
            "peak": self.peak,
            "first": self.times[0] if self.times else None,
            "last": self.times[-1] if self.times else None,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.startswith("/ep/"):
            await self.webhook(scope, path, bytes(body), send)
        elif method == "GET" and path == "/count":
            await _answer_json(send, self.state())
        elif method == "GET" and path == "/times":
            await _answer_json(send, self.times)
        elif method == "GET" and path == "/samples":
            await _answer_json(send, self.samples)
        elif method == "POST" and path == "/delay":
            self.delay = float(json.loads(body)["delay"])
            await _answer_json(send, {"delay": self.delay})
        elif method == "POST" and path == "/reset":
            self.reset()
            await _answer_json(send, self.state())
        else:
            await _answer(send, 404, b"")

    async def webhook(self, scope: Scope, path: str, body: bytes, send: Send) -> None:
        self.begun += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        message_id = headers.get("webhook-id")
        if message_id is None or "webhook-signature" not in headers:
            self.unsigned += 1
        else:
            self.ids.add(message_id)
        self.paths.add(path)
        index = path.removeprefix("/ep/")
        if index.isdigit() and int(index) % SAMPLE_EVERY == 0:
            self.samples[path] = {
                "body": body.decode("utf-8", "replace"),
                **{k: v for k, v in headers.items() if k.startswith("webhook-")},
            }
        self.done += 1
        self.times.append(time.monotonic())
        await _answer(send, 204, b"")


async def _answer(send: Send, status: int, body: bytes, kind: bytes = b"text/plain") -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer_json(send: Send, document: object) -> None:
    await _answer(send, 200, json.dumps(document).encode(), b"application/json")


def receiver_app() -> Receiver:
    """The uvicorn factory."""
    return Receiver()


# The bench


def fanout_article(index: int, run: str) -> bytes:
    return article(index, run, "Fan-out", "A short feature for the webhook benchmark.")


@dataclass
class Processes:
    """Children started by the bench, each in its own process group."""

    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)  # other processes to account for
    parents: dict[str, int] = field(default_factory=dict)  # ... with their children

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as log:
            self.running[name] = subprocess.Popen(
                argv, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def check(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {self.logs}")

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # pool children left behind, if any

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each child's process group and by ``pids`` (Linux)."""
        # worker-io-16-0 and worker-io-16-1 count as worker-io
        groups = {p.pid: re.sub(r"(-\d+)+$", "", name) for name, p in self.running.items()}
        used = dict.fromkeys((*groups.values(), *self.pids, *self.parents), 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            pid, parent, group, seconds = _proc_cpu(stat)
            if group in groups:
                used[groups[group]] += seconds
            for name, wanted in self.pids.items():
                if pid == wanted:
                    used[name] += seconds
            for name, wanted in self.parents.items():
                if wanted in (pid, parent):
                    used[name] += seconds
        # Every process's: user nice system idle iowait irq softirq steal ...
        ticks = [int(item) for item in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        used[MACHINE] = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        return used


def _proc_cpu(stat: Path) -> tuple[int, int, int, float]:
    """(pid, parent pid, process group, user + system CPU seconds) from ``/proc/<pid>/stat``."""
    try:
        fields = stat.read_text().rpartition(")")[2].split()
    except OSError:
        return 0, 0, 0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = (int(fields[11]) + int(fields[12])) / ticks
    return int(stat.parent.name), int(fields[1]), int(fields[2]), seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, procs: Processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; logs in {procs.logs}")
        procs.check()
        time.sleep(POLL)


@dataclass
class Fanout:
    threads: int
    wall: float
    first: float
    half: float
    peak: int
    timeline: str
    busy: dict[str, float]


@dataclass
class Sustained:
    threads: int
    deliveries: int
    wall: float
    ceiling: float
    timeline: str
    busy: dict[str, float]


@dataclass
class Results:
    baseline: float
    body_bytes: int
    baseline_busy: dict[str, float] = field(default_factory=dict)
    fanouts: list[list[Fanout]] = field(default_factory=list)  # the runs of each --threads
    sustained: list[Sustained] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
            sys.executable, "-m", "uvicorn", "--factory", "bench.webhook_fanout:receiver_app",
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
        took, answered = asyncio.run(_concurrent_posts(self.port, count))
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

    def submit(self) -> None:
        self.articles += 1
        self.submitter.submit(fanout_article(self.articles, self.run_id))

    def fanout(self, threads: int) -> Fanout:
        """One article to every endpoint: submit until the last delivery is answered."""
        n = self.n
        self.receiver("POST", "/delay", {"delay": self.options.delay})
        self.receiver("POST", "/reset")
        before = self.webhooks.store.stats()
        cpu = self.procs.cpu_seconds()
        start = time.monotonic()
        self.submit()
        wait_for(lambda: self.receiver("GET", "/count")["done"] >= n, 300, "the fan-out",
                 self.procs)  # fmt: skip
        busy = self.busy(cpu, start)
        state = self.settled(before, n, f"fan-out, -c {threads}")
        times = self.receiver("GET", "/times")
        return Fanout(
            threads, state["last"] - start, state["first"] - start, times[n // 2 - 1] - start,
            state["peak"], _timeline(times, start, 0.5), busy,
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
        ceiling = self.ping("deliver", self.options.pings) if self.options.pings else 0.0
        wall = state["last"] - start
        return Sustained(threads, total, wall, ceiling, _timeline(times, start, 5.0), busy)

    def busy(self, before: dict[str, float], start: float) -> dict[str, float]:
        """Cores kept busy by each process (group) since ``start``."""
        wall = time.monotonic() - start
        after = self.procs.cpu_seconds()
        busy = {name: (used - before.get(name, 0.0)) / wall for name, used in after.items()}
        busy["other processes"] = max(0.0, 2 * busy[MACHINE] - sum(busy.values()))
        del busy[MACHINE]
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


async def _concurrent_posts(port: int, count: int) -> tuple[float, int]:
    """``count`` connections at once, one POST each; (seconds, how many answered 204)."""
    request = b"POST /ep/check HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n\r\n{}"

    async def one() -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        writer.close()
        return line.startswith(b"HTTP/1.1 204")

    started = time.perf_counter()
    answers = await asyncio.gather(*[one() for _ in range(count)])
    return time.perf_counter() - started, sum(answers)


def _timeline(times: list[float], start: float, width: float) -> str:
    """Deliveries answered per ``width`` seconds since ``start``."""
    buckets = [0] * (int((max(times) - start) / width) + 1)
    for moment in times:
        buckets[int((moment - start) / width)] += 1
    return " ".join(map(str, buckets))


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
        results.sustained.append(bench.sustained(threads))
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


def report(options: argparse.Namespace, results: Results) -> None:
    n, baseline = options.endpoints, results.baseline
    cores = os.cpu_count()
    print(
        f"machine: {cores} cores; Redis and PostgreSQL: embedded, Unix sockets; receiver: "
        f"uvicorn on loopback "
        f"answering 204 after {options.delay * 1000:.0f} ms; {n} endpoints; payload "
        f"{results.body_bytes} bytes; fan-out: median of {options.repeat} runs"
    )
    print()
    print("| measurement | I/O worker | wall time | rate | vs baseline | others' CPU |")
    print("|---|---|---:|---:|---:|---:|")
    print(
        f"| baseline: sequential `requests.Session`, {n} signed POSTs | – | {baseline:.2f} s "
        f"| {n / baseline:.1f} req/s | 1.0x | {_others(results.baseline_busy)} |"
    )
    for runs in results.fanouts:
        f = _median(runs)
        spread = f" ({runs[0].wall:.2f}–{runs[-1].wall:.2f})" if len(runs) > 1 else ""
        print(
            f"| fan-out: 1 article → {n} endpoints | {_io(options, f.threads)} "
            f"| {f.wall:.2f} s{spread} | {n / f.wall:.0f} deliveries/s | {baseline / f.wall:.1f}x "
            f"| {_others(f.busy)} |"
        )
    for s in results.sustained:
        print(
            f"| sustained: {options.articles} articles × {n} endpoints, delay 0 "
            f"| {_io(options, s.threads)} | {s.wall:.2f} s | {s.deliveries / s.wall:.0f} "
            f"deliveries/s | – | {_others(s.busy)} |"
        )
    for s in results.sustained:
        if s.ceiling:
            print(
                f"| no-op ceiling: {options.pings} `syndicate.ping` on `deliver` "
                f"| {_io(options, s.threads)} | {options.pings / s.ceiling:.2f} s "
                f"| {s.ceiling:.0f} tasks/s | – | |"
            )
    print()
    print("others' CPU: cores used by processes outside the bench during the measurement")
    for runs in results.fanouts:
        f = _median(runs)
        print(
            f"fan-out -c {f.threads} (median run): first delivery answered "
            f"{f.first * 1000:.0f} ms after the submit, half at {f.half:.2f} s, all at "
            f"{f.wall:.2f} s; at most {f.peak} in flight at the receiver; answered per 0.5 s: "
            f"{f.timeline}"
        )
    for s in results.sustained:
        print(f"sustained -c {s.threads}: answered per 5 s: {s.timeline}")
    phases = [(f"fan-out -c {runs[0].threads}", _median(runs).busy) for runs in results.fanouts]
    phases += [(f"sustained -c {s.threads}", s.busy) for s in results.sustained]
    for label, busy in phases:
        shown = ", ".join(f"{name} {used:.2f}" for name, used in busy.items())
        print(f"cores busy, {label}: {shown}; total {sum(busy.values()):.2f} of {cores}")
    for note in results.notes:
        print(note)
    print(
        "checks passed: receiver count == expected == the store's delivered count, distinct "
        "webhook-ids, every path, no failed attempt, sampled signatures verified"
    )
    ratios = [(baseline / _median(runs).wall, runs[0].threads) for runs in results.fanouts]
    shown = "; ".join(f"{ratio:.1f}x at -c {threads}" for ratio, threads in ratios)
    verdict = "met" if ratios[0][0] >= 10 else "MISSED"
    print(f"{verdict}: fan-out >= 10x faster than the sequential loop ({shown})")


def _median(runs: list[Fanout]) -> Fanout:
    return runs[(len(runs) - 1) // 2]


def _io(options: argparse.Namespace, threads: int) -> str:
    workers = f"{options.io_workers} × " if options.io_workers > 1 else ""
    return f"{workers}threads -c {threads}"


def _others(busy: dict[str, float]) -> str:
    return f"{busy.get('other processes', 0.0):.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
