"""The Grafana dashboard in docs/ only queries metrics that /metrics really exports.

The exported names come from a real scrape (the session's Redis and PostgreSQL), read
from its ``# TYPE`` lines, so a histogram or counter with no samples yet still counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from feeds.metrics import render_metrics
from worker.store import Store

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "syndicate.json"
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",), "gauge": ("",)}


def exported_names(exposition: str) -> set[str]:
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        base = name.removesuffix("_total")  # a counter's TYPE line may name it with _total
        names |= {base + suffix for suffix in SUFFIXES[kind]}
    return names


def expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_every_dashboard_expression_names_exported_metrics(store: Store) -> None:
    exported = exported_names(render_metrics(store.client, store).decode())
    assert "syndicate_queue_length" in exported  # the scrape worked
    used_anywhere: set[str] = set()
    for title, expr in expressions():
        used = set(re.findall(r"\bsyndicate_[a-z_]+", expr))
        assert used, (title, expr)
        assert used <= exported, (title, used - exported)
        used_anywhere |= used
    # What the dashboard is for: queues, waits, throughput, deliveries by outcome,
    # endpoints by state, publish time.
    assert {
        "syndicate_queue_length", "syndicate_queue_consumers",
        "syndicate_task_queue_wait_seconds_bucket", "syndicate_tasks_total",
        "syndicate_webhook_attempts_total", "syndicate_webhook_endpoints",
        "syndicate_feed_publish_seconds_bucket",
    } <= used_anywhere  # fmt: skip


def test_the_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
