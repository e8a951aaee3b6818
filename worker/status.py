"""`syndicate status`: the whole system on one screen, read from PostgreSQL (the record),
Redis (workers, counters) and the broker (queues: Redis lists or RabbitMQ quorum queues)
in a few round trips.

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
from worker.broker_queues import amqp_queues, heartbeat_consumers, redis_queue_states
from worker.connection import is_amqp
from worker.database.connect import Database, redacted
from worker.keys import Keys, as_text
from worker.store import Store
from worker.telemetry import THROUGHPUT_BUCKET, WORKER_ALIVE_SECONDS

QUEUES = (*CPU_QUEUES, *IO_QUEUES)
#: A worker that has finished nothing for this long while a queue it consumes has a
#: message this old is flagged as not consuming.
STALL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    stall: float = STALL_SECONDS
    alive: float = WORKER_ALIVE_SECONDS


def gather(
    client: redis.Redis, store: Store, *, now: float | None = None,
    thresholds: Thresholds | None = None, broker: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Everything `syndicate status` shows, as JSON-ready data (``broker``: a RabbitMQ
    URL when Celery's broker is not the Redis)."""
    keys = store.keys
    counts = store.counts()
    now = time.time() if now is None else now
    limits = thresholds or Thresholds()
    queues = queue_states(client, now, broker)
    workers = _workers(client, keys, now, queues, limits)
    return {
        "at": now,
        "postgres": store.database_info(),
        "redis": _redis(client),
        "broker": _broker(broker),
        "queues": queues,
        "workers": workers,
        "throughput_last_minute": _throughput(client, keys, now),
        "articles": _articles(client, keys, counts),
        "feeds": _feeds(counts),
        "deliveries": _deliveries(store.db, now),
        "problems": _problems(queues, workers),
    }


def _broker(broker: str | None) -> dict[str, Any]:
    if broker is None or not is_amqp(broker):
        return {"kind": "redis"}
    return {"kind": "rabbitmq", "url": redacted(broker), "queue_type": "quorum"}


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


def queue_states(
    client: redis.Redis, now: float, broker: str | None = None
) -> dict[str, dict[str, Any]]:
    """Depth and oldest message's age of each queue on ``broker`` (a RabbitMQ URL, where
    the age is unknown and the attached consumers are added; default: the Redis lists).
    Raises one of :data:`~worker.broker_queues.BROKER_TROUBLE` when RabbitMQ cannot be
    asked."""
    if broker is None or not is_amqp(broker):
        return redis_queue_states(client, QUEUES, now)
    return {
        name: {"depth": state.depth, "oldest_age": None, "consumers": state.consumers}
        for name, state in amqp_queues(broker, QUEUES).items()
    }


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
            if _waiting(queues.get(queue, {}), limits.stall)
        ]  # fmt: skip
        idle_for = now - record.get("last_progress", now)
        record |= {
            "alive": alive,
            "not_consuming": alive and bool(waiting) and idle_for > limits.stall,
            "idle_for": round(idle_for, 1),
        }
        workers.append(record)
    return sorted(workers, key=lambda w: w["hostname"])


def _waiting(queue: dict[str, Any], stall: float) -> bool:
    """Whether a queue has work waiting: its oldest message is older than ``stall`` (Redis),
    or, where ages are unknown (RabbitMQ), it holds any message."""
    age = queue.get("oldest_age")
    if age is None:
        return "consumers" in queue and int(queue.get("depth", 0)) > 0
    return bool(age > stall)


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


def live_consumers(
    client: redis.Redis, keys: Keys, now: float, broker: str | None = None
) -> dict[str, int]:
    """Consumers of each queue: those attached to the RabbitMQ queue when ``broker`` is a
    RabbitMQ URL, else the live workers (fresh heartbeat) that consume it."""
    if broker is None or not is_amqp(broker):
        return heartbeat_consumers(client, keys, QUEUES, now)
    return {name: state.consumers for name, state in amqp_queues(broker, QUEUES).items()}


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


def age_text(seconds: float | None) -> str:
    """An age as the status screen and the dashboard show it (`-` when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _broker_line(broker: dict[str, Any]) -> str:
    if broker["kind"] == "rabbitmq":
        return f"Broker RabbitMQ {broker['url']}  {broker['queue_type']} queues"
    return "Broker the Redis above"


def render(status: dict[str, Any]) -> str:
    """The one-screen text form."""
    r, pg = status["redis"], status["postgres"]
    lines = [
        f"PostgreSQL {pg['version']}  database {pg['size']}  "
        f"schema {'current' if pg['schema_current'] else 'OUT OF DATE'}",
        f"Redis {r['version']}  memory {r['used_memory']}  "
        f"aof {'on' if r['aof'] else 'OFF'} ({r['aof_last_write'] or '-'})  "
        f"policy {r['maxmemory_policy']}  clients {r['clients']}",
        _broker_line(status["broker"]),
        "",
        f"{'queue':10} {'depth':>7} {'oldest':>8}",
    ]
    for name, queue in status["queues"].items():
        consumers = f"  {queue['consumers']} consumers" if "consumers" in queue else ""
        lines.append(f"{name:10} {queue['depth']:>7} {age_text(queue['oldest_age']):>8}{consumers}")
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
