"""Waiting out a short Redis or PostgreSQL outage instead of failing the work in hand.

Redis is the broker as well as the store: while it is down, Celery's own retry cannot
queue the retry and drops the message. The sweeps (stalled submissions, delivery
leases, dirty feeds) would bring the work back, but only minutes later; waiting a few
seconds for Redis inside the task costs a pause instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from kombu.exceptions import OperationalError

from worker.database.connect import DATABASE_TROUBLE

log = logging.getLogger(__name__)

T = TypeVar("T")
# OperationalError: kombu could not publish a task (the broker is this same Redis).
REDIS_TROUBLE: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OperationalError,
)
#: Either store unreachable: what tasks wait out and Celery retries.
TROUBLE = REDIS_TROUBLE + DATABASE_TROUBLE


def patiently(run: Callable[[], T], patience: float) -> T:
    """Run ``run``; while Redis is unreachable, try again for up to ``patience`` seconds
    counted from the first failure (backing off from 0.1 s to 2 s). ``run`` must be safe
    to repeat."""
    deadline: float | None = None
    pause = 0.1
    while True:
        try:
            return run()
        except TROUBLE as error:
            deadline = deadline or time.monotonic() + patience
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            log.warning("store unavailable (%s); trying again in %.1fs", error, pause)
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 2.0)
