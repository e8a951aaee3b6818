"""Quiet by default: an idle system writes (almost) nothing at INFO.

Beat sends ``syndicate.deliver_dispatch`` every second and three more ticks every few
seconds; Celery logs each send, each receipt and each success at INFO, which made an
idle ``syndicate up`` write three lines a second. :class:`QuietFilter` moves to DEBUG:

* every "Scheduler: Sending due task" line of beat;
* the "received" line of a periodic task (:data:`TICK_TASKS`), and its "succeeded"
  line when the tick found nothing to do (it returned ``0``, ``[]`` or ``None``); a tick
  that did work still says so at INFO;
* the start-up chatter of Celery (connected, mingle, ready, no global QoS), which ``syndicate up``
  replaces with one summary (it also starts uvicorn at ``--log-level warning``).

A demoted record is written only when the root logger is at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

#: Tasks beat sends on a schedule (see ``beat_schedule`` in config/celery_app.py).
TICK_TASKS = frozenset(
    {
        "syndicate.deliver_dispatch",
        "syndicate.publish_feeds",
        "syndicate.requeue_stalled",
        "syndicate.deliver_trim",
        "syndicate.trim_submissions",
    }
)
#: What a tick returns when it found nothing to do (Celery's repr of the value).
IDLE_RESULTS = frozenset({"0", "[]", "None", "()", "{}"})

_RECEIVED = "celery.worker.strategy"
_SUCCEEDED = "celery.app.trace"
_START_UP = {
    "celery.worker.consumer.connection": ("Connected to",),
    "celery.worker.consumer.mingle": ("mingle:",),
    "celery.apps.worker": ("ready.",),
    "celery.worker.consumer.tasks": ("Global QoS is disabled",),  # quorum queues
    "celery.beat": ("beat: Starting", "Scheduler: Sending due task"),
}


def is_routine(record: logging.LogRecord) -> bool:
    """Whether an INFO ``record`` is routine: a tick or start-up chatter."""
    if record.name in (_RECEIVED, _SUCCEEDED):
        data = _data(record)
        if data.get("name") not in TICK_TASKS:
            return False
        return record.name == _RECEIVED or str(data.get("return_value")) in IDLE_RESULTS
    prefixes = _START_UP.get(record.name)
    if prefixes is None:
        return False
    message = record.msg if isinstance(record.msg, str) else ""
    return any(prefix in message for prefix in prefixes)


def _data(record: logging.LogRecord) -> Mapping[str, object]:
    data = getattr(record, "data", None)
    if isinstance(data, Mapping):
        return data
    return record.args if isinstance(record.args, Mapping) else {}


class QuietFilter(logging.Filter):
    """Demotes routine INFO records to DEBUG (and drops them unless DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not is_routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG
