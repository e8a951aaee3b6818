"""``GET /metrics``: Prometheus metrics computed from Redis, PostgreSQL and the broker
(queue depths and consumers: Redis lists or RabbitMQ queues) at scrape time.

The workers record histograms and counters in Redis (:mod:`worker.telemetry`), so any
API process reports the same figures for every worker on every host; gauges (queue
lengths, dead letters, ...) are read live. Nothing is kept in the API process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from feeds.webhooks.store import WebhookStore
from worker.broker_queues import BROKER_TROUBLE
from worker.connection import is_amqp
from worker.database.connect import DATABASE_TROUBLE
from worker.keys import as_text
from worker.status import live_consumers, queue_states
from worker.store import Store
from worker.telemetry import BUCKETS

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_HISTOGRAMS = {
    "task_queue_wait_seconds": ("Time tasks waited in their queue", "task"),
    "task_runtime_seconds": ("Time tasks ran", "task"),
    "webhook_attempt_seconds": ("Latency of webhook delivery attempts", "outcome"),
    "feed_publish_seconds": ("Time a publish run took (all dirty feeds)", "scope"),
}


class SyndicateCollector(Collector):
    """Reads every figure from Redis when Prometheus scrapes."""

    def __init__(self, client: redis.Redis, store: Store, broker: str | None = None) -> None:
        self.client = client
        self.store = store
        self.keys = store.keys
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("syndicate_redis_up", "Whether Redis answered this scrape")
        database_up = GaugeMetricFamily(
            "syndicate_postgres_up", "Whether PostgreSQL answered this scrape"
        )
        try:
            counts: dict[str, Any] | None = self.store.counts()
        except DATABASE_TROUBLE:
            counts = None
        database_up.add_metric([], 0 if counts is None else 1)
        yield database_up
        try:
            metrics = list(self._collect(time.time(), counts))
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _collect(self, now: float, counts: dict[str, Any] | None) -> Iterator[Metric]:
        yield from self._queue_metrics(now)
        for metric, (documentation, label) in _HISTOGRAMS.items():
            yield self._histogram(metric, documentation, label)
        yield self._counter("tasks", "syndicate_tasks", "Finished tasks by final state",
                            ["task", "state"], split=True)  # fmt: skip
        yield self._counter("articles", "syndicate_articles", "Ingested submissions by outcome",
                            ["outcome"])  # fmt: skip
        yield from self._delivery_metrics()
        yield from self._store_gauges(counts)

    def _queue_metrics(self, now: float) -> Iterator[Metric]:
        """Depths and consumers from the broker; left out (broker_up 0) when RabbitMQ is
        unreachable."""
        broker_up = GaugeMetricFamily("syndicate_broker_up", "Whether the broker answered")
        try:
            states = queue_states(self.client, now, self.broker)
            consumers = {name: state.get("consumers") for name, state in states.items()}
            if self.broker is None or not is_amqp(self.broker):
                consumers = dict(live_consumers(self.client, self.keys, now))
        except BROKER_TROUBLE as error:
            log.warning("metrics: queue figures left out, the broker is unreachable: %s", error)
            broker_up.add_metric([], 0)
            yield broker_up
            return
        broker_up.add_metric([], 1)
        yield broker_up
        length = GaugeMetricFamily("syndicate_queue_length", "Messages waiting", labels=["queue"])
        age = GaugeMetricFamily(
            "syndicate_queue_oldest_age_seconds", "Age of the oldest waiting message",
            labels=["queue"],
        )  # fmt: skip
        consuming = GaugeMetricFamily(
            "syndicate_queue_consumers", "Consumers attached to a queue", labels=["queue"]
        )
        for queue, state in states.items():
            length.add_metric([queue], state["depth"])
            age.add_metric([queue], state["oldest_age"] or 0.0)
            consuming.add_metric([queue], consumers.get(queue) or 0)
        yield length
        yield age
        yield consuming

    def _histogram(self, metric: str, documentation: str, label: str) -> Metric:
        family = HistogramMetricFamily(f"syndicate_{metric}", documentation, labels=[label])
        labels = sorted(
            as_text(v) for v in self.client.smembers(self.keys.histogram_labels(metric))
        )
        with self.client.pipeline(transaction=False) as pipe:
            for value in labels:
                pipe.hgetall(self.keys.histogram(metric, value))
            replies = pipe.execute()
        for value, raw in zip(labels, replies, strict=True):
            fields = {as_text(k): as_text(v) for k, v in raw.items()}
            cumulative, buckets = 0, []
            for bound in (*(repr(b) for b in BUCKETS), "+Inf"):
                cumulative += int(fields.get(f"le:{bound}", 0))
                buckets.append((bound, float(cumulative)))
            family.add_metric([value], buckets, float(fields.get("sum", 0.0)))
        return family

    def _counter(self, name: str, metric: str, documentation: str, labels: list[str],
                 *, split: bool = False) -> Metric:  # fmt: skip
        family = CounterMetricFamily(metric, documentation, labels=labels)
        for field, value in sorted(self.client.hgetall(self.keys.counter(name)).items()):
            text = as_text(field)
            family.add_metric(text.split("|", 1) if split else [text], float(value))
        return family

    def _delivery_metrics(self) -> Iterator[Metric]:
        """Webhook figures from PostgreSQL (left out while it is down)."""
        webhooks = WebhookStore(self.store.db)
        try:
            with self.store.db.connection() as conn:
                stats = webhooks.counters(conn=conn)
                states = webhooks.endpoint_states(conn=conn)
                sizes = webhooks.schedule_sizes(now=time.time(), conn=conn)
        except DATABASE_TROUBLE as error:
            log.warning("metrics: webhook figures left out, PostgreSQL unavailable: %s", error)
            return
        attempts = CounterMetricFamily(
            "syndicate_webhook_attempts", "Webhook delivery attempts by outcome", labels=["outcome"]
        )
        attempts.add_metric(["delivered"], stats.get("attempts_delivered", 0))
        attempts.add_metric(["failed"], stats.get("attempts_failed", 0))
        yield attempts
        yield CounterMetricFamily(
            "syndicate_webhook_endpoints_disabled", "Endpoints disabled by 410 or failing",
            value=stats.get("endpoints_disabled", 0),
        )  # fmt: skip
        endpoints = GaugeMetricFamily(
            "syndicate_webhook_endpoints", "Webhook endpoints by state", labels=["state"]
        )
        for state, count in states.items():
            endpoints.add_metric([state], count)
        yield endpoints
        yield GaugeMetricFamily(
            "syndicate_webhook_dead_letters", "Dead-lettered webhook messages", value=sizes["dead"]
        )
        yield GaugeMetricFamily(
            "syndicate_webhook_scheduled", "Webhook messages waiting for an attempt",
            value=sizes["scheduled"],
        )  # fmt: skip

    def _store_gauges(self, counts: dict[str, Any] | None) -> Iterator[Metric]:
        gauges: dict[str, tuple[str, Any]] = {}
        if counts is not None:  # the record's figures, when PostgreSQL answered
            gauges |= {
                "syndicate_articles_stored": ("Live articles in the store", counts["stored"]),
                "syndicate_articles_failed": (
                    "Failed submissions kept for inspection",
                    counts["failed"],
                ),
                "syndicate_websub_subscribers": (
                    "WebSub subscriptions",
                    counts["websub_subscribers"],
                ),
            }
        for name, (documentation, value) in gauges.items():
            yield GaugeMetricFamily(name, documentation, value=value)


def render_metrics(client: redis.Redis, store: Store, broker: str | None = None) -> bytes:
    """The exposition text for one scrape (``broker``: a RabbitMQ URL, if that is Celery's)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyndicateCollector(client, store, broker))
    return generate_latest(registry)
