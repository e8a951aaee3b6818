"""`syndicate status`: the whole system on one screen, read from PostgreSQL (the record)
and Redis (queues, workers, counters) in a few round trips.

:func:`gather` returns plain data (the ``--json`` output); :func:`render` prints it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from config.celery_app import CPU_QUEUES, IO_QUEUES
from feeds.webhooks.store import WebhookStore
from worker.database.connect import Database
from worker.keys import Keys, as_text
from worker.store import Store
from worker.telemetry import SENT_AT_HEADER, THROUGHPUT_BUCKET, WORKER_ALIVE_SECONDS

QUEUES = (*CPU_QUEUES, *IO_QUEUES)
#: A worker that has finished nothing for this long while a queue it consumes has a
#: message this old is flagged as not consuming.
STALL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    stall: float = STALL_SECONDS
    alive: float = WORKER_ALIVE_SECONDS


def gather(client: redis.Redis, store: Store, *, now: float | None = None,
           thresholds: Thresholds | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything `syndicate status` shows, as JSON-ready data."""
    keys = store.keys
    counts = store.counts()
    now = time.time() if now is None else now
    limits = thresholds or Thresholds()
    queues = queue_states(client, now)
    workers = _workers(client, keys, now, queues, limits)
    return {
        "at": now,
        "postgres": store.database_info(),
        "redis": _redis(client),
        "queues": queues,
        "workers": workers,
        "throughput_last_minute": _throughput(client, keys, now),
        "articles": _articles(client, keys, counts),
        "feeds": _feeds(counts),
        "deliveries": _deliveries(store.db, now),
        "problems": _problems(queues, workers),
    }


def _redis(client: redis.Redis) -> dict[str, Any]:
    info: dict[str, Any] = client.info()
    return {
        "version": info.get("redis_version"),
        "used_memory": info.get("used_memory_human"),
        "maxmemory_policy": info.get("maxmemory_policy"),
        "aof": bool(info.get("aof_enabled")),
        "aof_last_write": info.get("aof_last_write_status"),
        "rdb_last_save": info.get("rdb_last_save_time"),
        "clients": info.get("connected_clients"),
    }


def queue_states(client: redis.Redis, now: float) -> dict[str, dict[str, Any]]:
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.llen(queue)
            pipe.lindex(queue, -1)  # kombu pushes on the left: the oldest is on the right
        replies = pipe.execute()
    shown = {}
    for index, queue in enumerate(QUEUES):
        depth, oldest = replies[2 * index], replies[2 * index + 1]
        sent_at = _sent_at(oldest)
        shown[queue] = {
            "depth": int(depth),
            "oldest_age": None if sent_at is None else round(max(0.0, now - sent_at), 1),
        }
    return shown


def _sent_at(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        value = json.loads(raw).get("headers", {}).get(SENT_AT_HEADER)
        return float(value) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def _workers(client: redis.Redis, keys: Keys, now: float, queues: dict[str, dict[str, Any]],
             limits: Thresholds) -> list[dict[str, Any]]:  # fmt: skip
    workers = []
    for raw in client.hvals(keys.workers):
        record = json.loads(raw)
        alive = now - record.get("last_seen", 0) <= limits.alive
        if not alive and now - record.get("last_seen", 0) > 3600:
            continue  # long gone (killed without a goodbye): not worth a line
        waiting = [
            queue for queue in record.get("queues", [])
            if (age := queues.get(queue, {}).get("oldest_age")) is not None and age > limits.stall
        ]  # fmt: skip
        idle_for = now - record.get("last_progress", now)
        record |= {
            "alive": alive,
            "not_consuming": alive and bool(waiting) and idle_for > limits.stall,
            "idle_for": round(idle_for, 1),
        }
        workers.append(record)
    return sorted(workers, key=lambda w: w["hostname"])


def _throughput(client: redis.Redis, keys: Keys, now: float) -> int:
    current = int(now) // THROUGHPUT_BUCKET
    buckets = [keys.throughput(current - i) for i in range(1, 7)]  # six whole buckets
    return sum(int(value or 0) for value in client.mget(buckets))


def _articles(client: redis.Redis, keys: Keys, counts: dict[str, Any]) -> dict[str, Any]:
    outcomes = client.hgetall(keys.counter("articles"))
    return {
        "stored": counts["stored"],
        "pending": counts["pending"],
        "failed": counts["failed"],
        "outcomes": {as_text(k): int(v) for k, v in outcomes.items()},
    }


def _feeds(counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "feeds": counts["feeds"],
        "main_entries": counts["main_entries"],
        "main_last_modified": counts["main_last_modified"],
        "dirty": counts["dirty"],
    }


def live_consumers(client: redis.Redis, keys: Keys, now: float) -> dict[str, int]:
    """Live workers (a heartbeat within :data:`WORKER_ALIVE_SECONDS`) consuming each queue."""
    consumers = dict.fromkeys(QUEUES, 0)
    for raw in client.hvals(keys.workers):
        record: dict[str, Any] = json.loads(raw)
        if now - record.get("last_seen", 0) <= WORKER_ALIVE_SECONDS:
            for queue in record.get("queues", []):
                consumers[queue] = consumers.get(queue, 0) + 1
    return consumers


def _deliveries(database: Database, now: float) -> dict[str, Any]:
    webhooks = WebhookStore(database)
    with database.connection() as conn:
        endpoints = webhooks.endpoint_states(conn=conn)
        sizes = webhooks.schedule_sizes(now=now, conn=conn)
        counters = webhooks.counters(conn=conn)
    return {
        "endpoints": sum(endpoints.values()),
        "disabled": endpoints["disabled"],
        "failing": endpoints["failing"],
        "scheduled": sizes["scheduled"],
        "due_now": sizes["due_now"],
        "dead_letters": sizes["dead"],
        "counters": counters,
    }


def _problems(queues: dict[str, dict[str, Any]], workers: list[dict[str, Any]]) -> list[str]:
    problems = []
    for queue, state in queues.items():
        consumers = [w for w in workers if w["alive"] and queue in w.get("queues", [])]
        if not consumers and state["depth"]:
            problems.append(f"queue {queue}: {state['depth']} waiting and no worker consumes it")
        elif not consumers:
            problems.append(f"queue {queue}: no worker consumes it")
    for worker in workers:
        if worker["not_consuming"]:
            problems.append(
                f"worker {worker['hostname']}: alive but has finished nothing for "
                f"{worker['idle_for']:.0f}s while its queue waits"
            )
        elif not worker["alive"]:
            problems.append(f"worker {worker['hostname']}: no heartbeat (stopped or lost)")
    return problems


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render(status: dict[str, Any]) -> str:
    """The one-screen text form."""
    r, pg = status["redis"], status["postgres"]
    lines = [
        f"PostgreSQL {pg['version']}  database {pg['size']}  "
        f"schema {'current' if pg['schema_current'] else 'OUT OF DATE'}",
        f"Redis {r['version']}  memory {r['used_memory']}  "
        f"aof {'on' if r['aof'] else 'OFF'} ({r['aof_last_write'] or '-'})  "
        f"policy {r['maxmemory_policy']}  clients {r['clients']}",
        "",
        f"{'queue':10} {'depth':>7} {'oldest':>8}",
    ]
    for name, queue in status["queues"].items():
        lines.append(f"{name:10} {queue['depth']:>7} {_age(queue['oldest_age']):>8}")
    lines += ["", f"workers ({sum(w['alive'] for w in status['workers'])} alive)"]
    for w in status["workers"]:
        state = "NOT CONSUMING" if w["not_consuming"] else ("ok" if w["alive"] else "GONE")
        lines.append(
            f"  {w['hostname']:32} {','.join(w['queues']):22} {w['pool']}×{w['concurrency']:<3} "
            f"active {w.get('active', 0):<3} done {w.get('processed', 0):<7} {state}"
        )
    a, f, d = status["articles"], status["feeds"], status["deliveries"]
    lines += [
        "",
        f"throughput  {status['throughput_last_minute']} tasks in the last minute",
        f"articles    {a['stored']} stored, {a['pending']} pending, {a['failed']} failed",
        f"feeds       {f['feeds']} feeds, main has {f['main_entries']} entries, "
        f"last modified {f['main_last_modified'] or '-'}, {f['dirty']} waiting to render",
        f"deliveries  {d['endpoints']} endpoints ({d['failing']} failing, {d['disabled']} "
        f"disabled), {d['scheduled']} scheduled ({d['due_now']} due), "
        f"{d['dead_letters']} dead letters",
    ]
    problems = status["problems"]
    lines += ["", "problems:" if problems else "no problems found"]
    lines += [f"  ! {problem}" for problem in problems]
    return "\n".join(lines)
