"""Queue depths and consumers as the broker sees them, on Redis or on RabbitMQ.

On Redis a queue is a list (its length is the depth, its oldest message carries the
``syn_sent_at`` header) and the consumers are the workers whose heartbeat is fresh. On
RabbitMQ a passive ``queue.declare`` answers the depth (ready messages) and the number of
consumers attached right now; a message's age is not visible without taking it, so the
oldest age is unknown (``None``).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

import amqp.exceptions
import kombu.exceptions
import redis
from kombu.connection import Connection

from worker.keys import Keys
from worker.telemetry import SENT_AT_HEADER, WORKER_ALIVE_SECONDS

#: What a RabbitMQ that cannot be asked raises.
BROKER_TROUBLE: tuple[type[Exception], ...] = (
    OSError,
    socket.timeout,
    amqp.exceptions.AMQPError,
    kombu.exceptions.OperationalError,
)


@dataclass(frozen=True, slots=True)
class AmqpQueue:
    depth: int
    consumers: int


def amqp_queues(url: str, names: tuple[str, ...], timeout: float = 3.0) -> dict[str, AmqpQueue]:
    """Depth and consumers of each queue (a queue not declared yet: 0 and 0)."""
    found: dict[str, AmqpQueue] = {}
    connection = Connection(url, connect_timeout=timeout)  # type: ignore[no-untyped-call]
    with connection as conn:
        conn.connect()
        for name in names:
            channel = conn.channel()
            try:
                _, depth, consumers = channel.queue_declare(queue=name, passive=True)
                found[name] = AmqpQueue(int(depth), int(consumers))
            except amqp.exceptions.NotFound:  # the broker closes the channel
                found[name] = AmqpQueue(0, 0)
            finally:
                if channel.is_open:
                    channel.close()
    return found


def redis_queue_states(
    client: redis.Redis, names: tuple[str, ...], now: float
) -> dict[str, dict[str, Any]]:
    """Depth and age of the oldest message of each queue, from kombu's Redis lists."""
    with client.pipeline(transaction=False) as pipe:
        for queue in names:
            pipe.llen(queue)
            pipe.lindex(queue, -1)  # kombu pushes on the left: the oldest is on the right
        replies = pipe.execute()
    shown = {}
    for index, queue in enumerate(names):
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


def heartbeat_consumers(
    client: redis.Redis, keys: Keys, names: tuple[str, ...], now: float
) -> dict[str, int]:
    """Live workers (a heartbeat within :data:`WORKER_ALIVE_SECONDS`) consuming each queue."""
    consumers = dict.fromkeys(names, 0)
    for raw in client.hvals(keys.workers):
        record: dict[str, Any] = json.loads(raw)
        if now - record.get("last_seen", 0) <= WORKER_ALIVE_SECONDS:
            for queue in record.get("queues", []):
                consumers[queue] = consumers.get(queue, 0) + 1
    return consumers
