"""The example alert rules parse and only use metrics that /metrics exposes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from feeds.metrics import _HISTOGRAMS

ROOT = Path(__file__).resolve().parents[1]
EXPOSED = {
    "syndicate_redis_up", "syndicate_queue_length", "syndicate_queue_oldest_age_seconds",
    "syndicate_queue_consumers", "syndicate_tasks_total", "syndicate_articles_total",
    "syndicate_webhook_attempts_total", "syndicate_webhook_endpoints",
    "syndicate_webhook_dead_letters", "syndicate_webhook_scheduled",
    "syndicate_articles_stored", "syndicate_articles_failed", "syndicate_websub_subscribers",
    *(f"syndicate_{name}_{part}" for name in _HISTOGRAMS for part in ("bucket", "sum", "count")),
}  # fmt: skip


def test_every_rule_uses_exposed_metrics() -> None:
    rules = yaml.safe_load((ROOT / "docs" / "prometheus" / "alerts.yml").read_text())
    names = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    assert {"SyndicateQueueBackingUp", "SyndicateNoConsumer", "SyndicateDeadLettersGrowing",
            "SyndicateEndpointDisabled"} <= set(names)  # fmt: skip
    for group in rules["groups"]:
        for rule in group["rules"]:
            used = set(re.findall(r"\bsyndicate_[a-z_]+", rule["expr"]))
            assert used, rule["alert"]
            assert used <= EXPOSED, (rule["alert"], used - EXPOSED)
