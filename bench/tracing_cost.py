"""What OpenTelemetry tracing costs: ingest throughput with tracing off, on, and off again.

In one run, against a private embedded Redis and PostgreSQL and one prefork worker
consuming ``ingest`` and ``publish`` (``-c`` = cores), N articles are submitted as fast
as possible and timed until the last is stored, three times: with the worker untraced,
traced (``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at an OTLP/HTTP receiver on loopback
that reads and discards every export), and untraced again. The traced throughput is
compared with the mean of the two untraced runs.

Target: traced >= 0.90x untraced (tracing costs at most 10 % of throughput).

    .venv/bin/python bench/tracing_cost.py [--articles 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench._common import article, private_redis, wait_for  # noqa: E402
from bench.e2e_throughput import POLL, start_worker  # noqa: E402
from config.celery_app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from worker.submit import Submitter  # noqa: E402


class _Sink(BaseHTTPRequestHandler):
    exports = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def burst(submitter: Submitter, env: dict[str, str], n: int, concurrency: int) -> float:
    """Articles per second through a fresh worker started with ``env``."""
    worker = start_worker(env, concurrency)
    try:
        run = uuid.uuid4().hex[:6]
        warm = submitter.submit(article(0, run + "w"))
        wait_for(lambda: _done(submitter, warm.submission_id), 120, POLL)
        bodies = [article(index, run) for index in range(n)]
        start = time.perf_counter()
        accepted = [submitter.submit(body) for body in bodies]
        wait_for(
            lambda: all(_done(submitter, item.submission_id) for item in accepted[-50:]), 900, POLL
        )
        return n / (time.perf_counter() - start)
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def _done(submitter: Submitter, submission_id: str) -> bool:
    submission = submitter.store.submission(submission_id)
    return submission is not None and submission.status in ("done", "failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args(argv)
    server, env = private_redis("bench")
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    submitter = Submitter.from_settings(Settings.from_env(env), create_app(Settings.from_env(env)))
    n = options.articles
    try:
        with otlp_sink() as endpoint:
            off_before = burst(submitter, env, n, options.concurrency)
            traced_env = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
            on = burst(submitter, traced_env, n, options.concurrency)
            off_after = burst(submitter, env, n, options.concurrency)
    finally:
        server.stop()
    off = (off_before + off_after) / 2
    ratio = on / off
    print(f"machine: {os.cpu_count()} cores; worker: prefork -c {options.concurrency}")
    print(f"untraced:  {off_before:7.1f} then {off_after:7.1f} articles/s ({n} each)")
    print(f"traced:    {on:7.1f} articles/s ({_Sink.exports} OTLP exports received)")
    print(f"ratio:     {ratio:7.2f}x untraced (target >= 0.90)")
    print(("met" if ratio >= 0.9 else "MISSED") + ": tracing cost target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
