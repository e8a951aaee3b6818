"""Every Redis key syndicate uses, in one place, under one prefix.

Redis holds no record (those are in PostgreSQL): only debounce flags, locks, heartbeats,
counters and, until they move, webhook delivery state.

    {p}publish:scheduled          string: set while a publish task is queued (coalescing)
    {p}publish:runs               list: JSON start/end of recent publish runs (newest first)
    {p}wh:endpoints               zset: webhook endpoint ids by creation time
    {p}wh:endpoint:{ep}           hash: one endpoint (url, filters, secrets, state)
    {p}wh:msg:{mid}               hash: one message to one endpoint (body, status, token)
    {p}wh:attempts:{mid}          list: JSON record of every attempt of a message
    {p}wh:msgs                    zset: every message id by creation time (retention)
    {p}wh:msgs:{ep}               zset: an endpoint's message ids by creation time
    {p}wh:due                     zset: message id -> due time (the retry schedule)
    {p}wh:due:{ep}                zset: the same, for one endpoint
    {p}wh:inflight:{ep}           zset: message id -> lease end (per-endpoint cap)
    {p}wh:dead                    zset: dead-lettered message ids by time
    {p}wh:dead:{ep}               zset: an endpoint's dead letters
    {p}wh:held:{ep}               zset: messages kept while the endpoint is disabled
    {p}wh:stats                   hash: attempt and outcome counters
    {p}wh:dispatch:scheduled      string: set while a dispatch task is queued
    {p}workers                    hash: worker hostname -> heartbeat JSON
    {p}m:h:{metric}:{label}       hash: one histogram (per-bucket counts, sum, count)
    {p}m:labels:{metric}          set: the labels a histogram has
    {p}m:c:{name}                 hash: counters (field -> count)
    {p}m:done:{bucket}            string: tasks finished in one 10-second bucket

Celery's own keys (queues, unacked) live beside these with kombu's names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under a prefix (default ``syn:``)."""

    prefix: str = "syn:"

    @property
    def publish_scheduled(self) -> str:
        return f"{self.prefix}publish:scheduled"

    @property
    def publish_runs(self) -> str:
        return f"{self.prefix}publish:runs"

    # Webhooks: everything under {prefix}wh:

    @property
    def wh_prefix(self) -> str:
        """The prefix Lua scripts use to name per-message and per-endpoint keys."""
        return f"{self.prefix}wh:"

    @property
    def endpoints(self) -> str:
        return f"{self.prefix}wh:endpoints"

    def endpoint(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:endpoint:{endpoint_id}"

    def message(self, message_id: str) -> str:
        return f"{self.prefix}wh:msg:{message_id}"

    def attempts(self, message_id: str) -> str:
        return f"{self.prefix}wh:attempts:{message_id}"

    @property
    def messages(self) -> str:
        return f"{self.prefix}wh:msgs"

    def endpoint_messages(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:msgs:{endpoint_id}"

    @property
    def due(self) -> str:
        return f"{self.prefix}wh:due"

    def endpoint_due(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:due:{endpoint_id}"

    def inflight(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:inflight:{endpoint_id}"

    @property
    def dead(self) -> str:
        return f"{self.prefix}wh:dead"

    def endpoint_dead(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:dead:{endpoint_id}"

    def held(self, endpoint_id: str) -> str:
        return f"{self.prefix}wh:held:{endpoint_id}"

    @property
    def delivery_stats(self) -> str:
        return f"{self.prefix}wh:stats"

    @property
    def dispatch_scheduled(self) -> str:
        return f"{self.prefix}wh:dispatch:scheduled"

    # Telemetry: heartbeats and metrics

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    def histogram(self, metric: str, label: str) -> str:
        return f"{self.prefix}m:h:{metric}:{label}"

    def histogram_labels(self, metric: str) -> str:
        return f"{self.prefix}m:labels:{metric}"

    def counter(self, name: str) -> str:
        return f"{self.prefix}m:c:{name}"

    def throughput(self, bucket: int) -> str:
        return f"{self.prefix}m:done:{bucket}"
