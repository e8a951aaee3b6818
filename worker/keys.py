"""Every Redis key syndicate uses, in one place, under one prefix.

Redis holds no record (those are in PostgreSQL): only debounce flags, heartbeats and
telemetry counters. Wiping it loses nothing that must survive.

    {p}publish:scheduled          string: set while a publish task is queued (coalescing)
    {p}publish:runs               list: JSON start/end of recent publish runs (newest first)
    {p}publish:rest               string: until when (epoch s) the next publish run waits
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

    @property
    def publish_rest(self) -> str:
        return f"{self.prefix}publish:rest"

    # Webhooks

    @property
    def dispatch_scheduled(self) -> str:
        return f"{self.prefix}wh:dispatch:scheduled"

    def rate_budget(self, endpoint_id: str) -> str:
        """When a webhook endpoint's rate budget is next free (see feeds/webhooks/pacing.py)."""
        return f"{self.prefix}wh:rate:{endpoint_id}"

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


def as_text(value: object) -> str:
    """A Redis reply (bytes, or anything else) as text; bytes are decoded as UTF-8."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
