"""What the workers tell Redis about themselves, for `syndicate status`, /metrics and /readyz.

Every figure lives in Redis, so it is right with any number of worker processes and
hosts, and any API process can report it:

* every published task carries a ``syn_sent_at`` header (its enqueue time): the age of
  a queue's oldest message and each task's queue wait come from it;
* each finished task adds its queue wait and runtime to histograms and its state to a
  counter (one pipelined round trip), and counts into 10-second throughput buckets;
* each worker's main process writes a heartbeat every 2 s (queues, pool, concurrency,
  active and processed tasks, when it last made progress) into ``syn:workers``.

Histograms are kept as per-bucket counts (not cumulative) plus sum and count, in one
hash per (metric, label); the metrics endpoint turns them into Prometheus histograms.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import redis

from config.settings import Settings
from worker.connection import redis_client
from worker.keys import Keys

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
SENT_AT_HEADER = "syn_sent_at"
HEARTBEAT_SECONDS = 2.0
#: A worker whose heartbeat is older than this is gone.
WORKER_ALIVE_SECONDS = 10.0
THROUGHPUT_BUCKET = 10
_BUCKET_TTL = 3600

_started: dict[str, float] = {}


@cache
def _client() -> redis.Redis:
    # One per process, made on first use (after a prefork child has forked).
    return redis_client(Settings.from_env(), health_check_interval=30)


def bucket_field(value: float) -> str:
    """The hash field of the histogram bucket ``value`` falls in (``le`` of the bucket)."""
    index = bisect.bisect_left(BUCKETS, value)
    return f"le:{BUCKETS[index]!r}" if index < len(BUCKETS) else "le:+Inf"


def observe(pipe: Any, keys: Keys, metric: str, label: str, value: float) -> None:
    """Add one observation to a histogram kept in Redis (queued on ``pipe``)."""
    key = keys.histogram(metric, label)
    pipe.hincrby(key, bucket_field(value), 1)
    pipe.hincrbyfloat(key, "sum", value)
    pipe.hincrby(key, "count", 1)
    pipe.sadd(keys.histogram_labels(metric), label)


def count(pipe: Any, keys: Keys, counter: str, field: str, amount: int = 1) -> None:
    pipe.hincrby(keys.counter(counter), field, amount)


def record(
    metric: str, label: str, value: float, *, counter: tuple[str, str] | None = None
) -> None:
    """Observe one value (and optionally bump a counter) now; never raises."""
    keys = Keys()
    try:
        with _client().pipeline(transaction=False) as pipe:
            observe(pipe, keys, metric, label, value)
            if counter is not None:
                count(pipe, keys, counter[0], counter[1])
            pipe.execute()
    except redis.RedisError as error:
        log.debug("metrics not recorded: %s", error)


def record_many(metric: str, observations: Sequence[tuple[str, float]]) -> None:
    """Observe many (label, value) pairs in one round trip, added up per label and
    bucket first (a batch of a thousand costs a few commands); never raises."""
    keys = Keys()
    sums: dict[str, tuple[float, Counter[str]]] = {}
    for label, value in observations:
        total, buckets = sums.get(label, (0.0, Counter()))
        buckets[bucket_field(value)] += 1
        sums[label] = (total + value, buckets)
    if not sums:
        return
    try:
        with _client().pipeline(transaction=False) as pipe:
            for label, (total, buckets) in sums.items():
                key = keys.histogram(metric, label)
                for name, amount in buckets.items():
                    pipe.hincrby(key, name, amount)
                pipe.hincrbyfloat(key, "sum", total)
                pipe.hincrby(key, "count", sum(buckets.values()))
                pipe.sadd(keys.histogram_labels(metric), label)
            pipe.execute()
    except redis.RedisError as error:
        log.debug("metrics not recorded: %s", error)


def bump(counter: str, field: str, amount: int = 1) -> None:
    """Add to a counter now; never raises."""
    try:
        _client().hincrby(Keys().counter(counter), field, amount)
    except redis.RedisError as error:
        log.debug("counter not recorded: %s", error)


def stamp_headers(headers: dict[str, Any] | None, **_: Any) -> None:
    """``before_task_publish``: remember when the task was enqueued."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


def task_started(task_id: str | None = None, **_: Any) -> None:
    """``task_prerun``: note the start."""
    if task_id:
        _started[task_id] = time.time()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                  **_: Any) -> None:  # fmt: skip
    """``task_postrun``: queue wait, runtime, outcome and throughput into Redis."""
    if not task_id or task is None:
        return
    now = time.time()
    started = _started.pop(task_id, now)
    name = str(task.name)
    sent_at = _sent_at(task.request)
    keys = Keys()
    try:
        with _client().pipeline(transaction=False) as pipe:
            observe(pipe, keys, "task_runtime_seconds", name, now - started)
            if sent_at is not None and task.request.retries == 0:
                observe(pipe, keys, "task_queue_wait_seconds", name, max(0.0, started - sent_at))
            count(pipe, keys, "tasks", f"{name}|{state or 'UNKNOWN'}")
            bucket = keys.throughput(int(now) // THROUGHPUT_BUCKET)
            pipe.incr(bucket)
            pipe.expire(bucket, _BUCKET_TTL)
            pipe.execute()
    except redis.RedisError as error:
        log.debug("task metrics not recorded: %s", error)


def _sent_at(request: Any) -> float | None:
    value = getattr(request, SENT_AT_HEADER, None)
    if value is None and isinstance(getattr(request, "headers", None), Mapping):
        value = request.headers.get(SENT_AT_HEADER)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Heartbeat:
    """A daemon thread in a worker's main process that reports it alive to Redis."""

    def __init__(self, hostname: str, queues: list[str], pool: str, concurrency: int) -> None:
        self.hostname = hostname
        self.record: dict[str, Any] = {
            "hostname": hostname, "pid": os.getpid(), "queues": sorted(queues), "pool": pool,
            "concurrency": concurrency, "started": time.time(),
        }  # fmt: skip
        self._stop = threading.Event()
        self._processed = -1
        self._progress_at = time.time()
        self._thread = threading.Thread(target=self._run, name="syndicate-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            _client().hdel(Keys().workers, self.hostname)

    def beat(self) -> None:
        from celery.worker import state  # noqa: PLC0415 - only inside a worker

        processed = sum(state.total_count.values())
        now = time.time()
        if processed != self._processed:
            self._processed, self._progress_at = processed, now
        record = self.record | {
            "last_seen": now,
            "active": len(state.active_requests),
            "processed": processed,
            "last_progress": self._progress_at,
        }
        _client().hset(Keys().workers, self.hostname, json.dumps(record))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except redis.RedisError as error:
                log.warning("heartbeat not written: %s", error)
            self._stop.wait(HEARTBEAT_SECONDS)


_heartbeat: Heartbeat | None = None


def worker_ready(sender: Any = None, **_: Any) -> None:
    """``worker_ready`` (sender: the consumer): start the heartbeat."""
    global _heartbeat  # noqa: PLW0603 - one heartbeat per worker process
    if sender is None or _heartbeat is not None:
        return
    queues = [queue.name for queue in sender.task_consumer.queues]
    controller = sender.controller
    pool = type(controller.pool).__module__.rsplit(".", 1)[-1]
    _heartbeat = Heartbeat(sender.hostname, queues, pool, int(controller.concurrency))
    _heartbeat.start()


def worker_stopping(**_: Any) -> None:
    """``worker_shutdown``: stop beating and leave the list at once."""
    global _heartbeat  # noqa: PLW0603
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None


def install() -> None:
    """Connect the signal handlers (idempotent: Celery signals dedupe by function)."""
    from celery import signals  # noqa: PLC0415

    signals.before_task_publish.connect(stamp_headers, weak=False)
    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_finished, weak=False)
    signals.worker_ready.connect(worker_ready, weak=False)
    signals.worker_shutdown.connect(worker_stopping, weak=False)
