"""Celery tasks: thin adapters that load, call the core, save and enqueue.

Task names are explicit and stable (other tools and queued messages refer to them);
arguments are ids or small JSON.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from functools import cache, partial
from typing import Any, TypeVar

from celery import Task, shared_task
from celery.signals import worker_process_shutdown, worker_shutdown

import worker.task_failures  # noqa: F401 - connects the task_failure signal
from config.celery_app import QUEUE_INGEST, broker_countdown
from config.settings import Settings
from feeds import feed_store
from feeds.publish import Publisher
from feeds.webhooks.service import Webhooks
from feeds.websub import Hub, HubRequest
from worker import telemetry
from worker.ingest import process_submission
from worker.patience import TROUBLE, patiently
from worker.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long enough to cover the queue wait of a publish task; if its message were lost,
# the flag expires and the next change (or the beat sweep) publishes again.
_PUBLISH_FLAG_SECONDS = 60
_DISPATCH_FLAG_SECONDS = 30
#: After a publish run of d seconds, the next one scheduled by ingest waits at least
#: this many times d: under a sustained stream of articles, publishing takes at most a
#: tenth of one worker process, and the rest goes to ingest. A run of a few feeds takes
#: tens of milliseconds, so a quiet site still publishes after ``publish_delay``.
PUBLISH_REST_FACTOR = 9


@cache
def _settings() -> Settings:
    return Settings.from_env()


@cache
def _store() -> Store:
    return Store.for_workers(_settings(), health_check_interval=30)


def _patiently(run: Callable[[], T]) -> T:
    """Run ``run`` (idempotent, like every task here) through a short Redis outage."""
    return patiently(run, _settings().redis_patience)


@shared_task(
    name="syndicate.ingest",
    autoretry_for=TROUBLE,
    retry_backoff=True,
    # A retry waits in a worker unacknowledged; it must come due well within the
    # visibility timeout (90 s) minus the time limit (60 s), or Redis redelivers it.
    retry_backoff_max=20,
    max_retries=None,
)
def ingest(submission_id: str) -> dict[str, object]:
    """Parse, normalize, summarize and store one submitted article."""
    result = _patiently(
        lambda: process_submission(_store(), submission_id, _settings().core, now=time.time())
    )
    if result.outcome in ("published", "updated", "deleted"):
        _count_and_schedule(result.outcome)
    else:
        telemetry.bump("articles", result.outcome)
    return result.as_dict()


def _count_and_schedule(outcome: str) -> None:
    """Count a changed article and take the publish and dispatch flags in one round trip
    (three separate calls per article were a measurable share of ingest)."""
    store = _store()
    keys = store.keys
    with store.client.pipeline(transaction=False) as pipe:
        pipe.hincrby(keys.counter("articles"), outcome, 1)
        pipe.set(keys.publish_scheduled, "1", nx=True, ex=_PUBLISH_FLAG_SECONDS)
        pipe.get(keys.publish_rest)
        pipe.set(keys.dispatch_scheduled, "1", nx=True, ex=_DISPATCH_FLAG_SECONDS)
        _, publish_flag, rest_until, dispatch_flag = pipe.execute()
    # Webhooks first: partners wait on them, while a publish waits on purpose anyway.
    if dispatch_flag:
        _queue_dispatch()
    if publish_flag:
        _queue_publish(rest_until)


def schedule_publish() -> None:
    """Queue one feed publish unless one is already queued: bursts coalesce."""
    store = _store()
    with store.client.pipeline(transaction=False) as pipe:
        pipe.set(store.keys.publish_scheduled, "1", nx=True, ex=_PUBLISH_FLAG_SECONDS)
        pipe.get(store.keys.publish_rest)
        scheduled, rest_until = pipe.execute()
    if scheduled:
        _queue_publish(rest_until)


def _queue_publish(rest_until: bytes | None) -> None:
    # A short delay lets a burst of articles accumulate into one render per feed;
    # it is far below the visibility timeout, so the countdown is safe on Redis.
    rest = None if rest_until is None else float(rest_until)
    settings = _settings()
    countdown = publish_countdown(settings.publish_delay, rest, time.time())
    publish_feeds.apply_async(countdown=broker_countdown(settings, countdown))


def publish_countdown(delay: float, rest_until: float | None, now: float) -> float:
    """Seconds before the next publish run: ``delay``, or longer while the previous
    run's rest lasts (see PUBLISH_REST_FACTOR), and never near the flag's lifetime."""
    if rest_until is None:
        return delay
    return max(delay, min(rest_until - now, _PUBLISH_FLAG_SECONDS / 2))


def _queue_dispatch() -> None:
    """Queue a webhook dispatch if any endpoint exists (the caller took the flag).

    The Redis flag only coalesces bursts; if it is lost, the beat's next tick
    dispatches anyway. The flag is taken before asking PostgreSQL whether any endpoint
    exists, so a burst with no endpoints asks once per flag lifetime, not per article.
    """
    if _webhooks().store.has_endpoints():
        deliver_dispatch.delay()


@shared_task(name="syndicate.publish_feeds")
def publish_feeds() -> list[str]:
    """Render every dirty feed once (runs on the publish queue; one run at a time)."""
    return _patiently(_publish_dirty_feeds)


def _publish_dirty_feeds() -> list[str]:
    store = _store()
    # Cleared first: changes committed while this render runs schedule another one.
    store.client.delete(store.keys.publish_scheduled)
    publisher = Publisher(store, _settings())
    # One run at a time (two renders of one feed at once could store the older document
    # last). The lock is PostgreSQL's, held by this run's session: it cannot be lost
    # with Redis, and a run that dies releases it with its connection.
    with feed_store.publish_lock(store.db) as taken:
        if not taken:
            schedule_publish()  # another run is rendering: publish again shortly
            return []
        # Timed inside the lock, so recorded runs never overlap however slow the
        # lock's acquisition or release is.
        started = time.time()
        rendered = publisher.publish_dirty()
        finished = time.time()
    _note_publish_run(store, started, finished, len(rendered))
    if rendered:
        telemetry.record("feed_publish_seconds", "all", finished - started)
    if _settings().hub_url and publisher.changed_documents:
        for path, callback in _hub().subscriptions(publisher.changed_documents):
            websub_deliver.delay(path, callback)
    return rendered


def _note_publish_run(store: Store, started: float, finished: float, feeds: int) -> None:
    run = {"start": started, "end": finished, "feeds": feeds, "pid": os.getpid()}
    rest = PUBLISH_REST_FACTOR * (finished - started)
    with store.client.pipeline(transaction=False) as pipe:
        pipe.lpush(store.keys.publish_runs, json.dumps(run))
        pipe.ltrim(store.keys.publish_runs, 0, 999)
        if rest > 0:
            pipe.set(store.keys.publish_rest, repr(finished + rest), px=max(1, int(rest * 1000)))
        pipe.execute()


@cache
def _hub() -> Hub:
    return Hub(_store(), _settings())


@shared_task(name="syndicate.websub_verify")
def websub_verify(request: dict[str, object]) -> bool:
    """Verify a subscriber's intent (or deny an unknown topic) and record the outcome."""
    return _patiently(lambda: _hub().verify(HubRequest(**request)))  # type: ignore[arg-type]


@shared_task(
    name="syndicate.websub_deliver",
    bind=True,
    max_retries=5,
)
def websub_deliver(self: Task, path: str, callback: str) -> str:
    """POST the current document to one subscriber; retried with backoff on failure."""
    outcome = _patiently(lambda: _push_document(path, callback))
    if outcome == "failed":
        # Short countdowns only: a retry waits unacknowledged in a worker and must come
        # due well within the visibility timeout.
        raise self.retry(countdown=min(20, 2 ** (self.request.retries + 1)))
    return outcome


def _push_document(path: str, callback: str) -> str:
    document = Publisher(_store(), _settings()).read(path, body="body")
    if document is None:
        return "gone"
    head, body = document
    return _hub().distribute(path, callback, body, head.media_type)


@cache
def _webhooks() -> Webhooks:
    webhooks = Webhooks(_store(), _settings())
    webhooks.deliveries.after_record = _send_next
    return webhooks


#: Attempts per deliver task: they are sent at once, from one event loop per process.
DELIVER_BATCH = 100
PROMOTE_BATCH = 500
#: How long a deliver task waits for its slowest attempts (a partner answering within
#: half a second keeps its task's slot until then); those still in flight after it are
#: recorded when they end, without holding a task slot.
DELIVER_WAIT = 0.5
#: How long a stopping worker waits for its attempts in flight.
DRAIN_SECONDS = 10.0


@shared_task(
    name="syndicate.deliver_dispatch",
    autoretry_for=TROUBLE, retry_backoff=True, retry_backoff_max=20, max_retries=None,
)  # fmt: skip
def deliver_dispatch(reason: str | None = None) -> int:
    """Turn new article events into webhook messages and send what is due (also on beat)."""
    store = _store()
    store.client.delete(store.keys.dispatch_scheduled)
    return _patiently(_dispatch_and_promote)


def _dispatch_and_promote() -> int:
    webhooks = _webhooks()
    created = webhooks.dispatch(first=partial(_send_first, webhooks))
    while True:
        promoted = webhooks.promote()
        _enqueue_attempts(promoted)
        if len(promoted) < PROMOTE_BATCH:
            return created


@shared_task(
    name="syndicate.deliver",
    autoretry_for=TROUBLE, retry_backoff=True, retry_backoff_max=20, max_retries=None,
)  # fmt: skip
def deliver(attempts: list[list[Any]]) -> list[str]:
    """Make a batch of attempts at once (one claim, concurrent requests, outcomes recorded
    by the batch); each endpoint's next due messages are sent as its outcome is recorded.

    A batch (not one task per attempt) because Celery's own cost per task is larger than
    an attempt's. A slow endpoint delays none of the others.
    """
    pairs = [(str(message_id), int(token)) for message_id, token in attempts]
    reports = _patiently(lambda: _webhooks().attempt_many(pairs, wait=DELIVER_WAIT))
    return [report.outcome for report in reports]


@worker_shutdown.connect
@worker_process_shutdown.connect
def _drain_deliveries(**_: Any) -> None:
    """A stopping worker records the attempts it has in flight before it goes (those
    left after DRAIN_SECONDS are made again when their lease ends)."""
    if _webhooks.cache_info().currsize:
        left = _webhooks().deliveries.drain(DRAIN_SECONDS)
        if left:
            log.warning("%d webhook attempts still in flight at shutdown: their leases "
                        "will end and they will be made again", left)  # fmt: skip


def _send_next(endpoints: list[str], task: dict[str, str]) -> None:
    """Send the next due messages of endpoints whose attempts just ended, from this
    process at once: no task in between (their lines name the task that began the
    chain). If the process dies, their leases end and the beat promotes them again."""
    webhooks = _webhooks()
    promoted = _patiently(partial(webhooks.promote, endpoints=endpoints))
    if promoted:
        _patiently(lambda: webhooks.attempt_many(promoted, wait=0, task=task))


def _send_first(webhooks: Webhooks, endpoints: list[str]) -> None:
    """Send a dispatch's first messages from this process at once, while it stores the
    others: the first partners hear of an article without waiting for the rest."""
    promoted = _patiently(partial(webhooks.promote, endpoints=endpoints))
    if promoted:
        _patiently(lambda: webhooks.attempt_many(promoted, wait=0))


def _enqueue_attempts(promoted: list[tuple[str, int]]) -> None:
    # Promoted messages wait for their lease if their task is never queued: keep trying.
    for start in range(0, len(promoted), DELIVER_BATCH):
        batch = [list(pair) for pair in promoted[start : start + DELIVER_BATCH]]
        _patiently(partial(deliver.delay, batch))


@shared_task(name="syndicate.deliver_trim")
def deliver_trim() -> int:
    """Forget delivered and dead messages older than the retention period."""
    removed = _webhooks().trim()
    if removed:
        log.info("trimmed %d webhook messages past retention", removed)
    return removed


@shared_task(name="syndicate.trim_submissions")
def trim_submissions() -> int:
    """Forget the raw input of submissions finished longer ago than the retention period."""
    settings = _settings()
    forgotten = _store().forget_raw_inputs(older_than=time.time() - settings.submission_retention)
    if forgotten:
        log.info("dropped the raw input of %d submissions past retention", forgotten)
    return forgotten


@shared_task(name="syndicate.requeue_stalled")
def requeue_stalled() -> int:
    """Re-enqueue submissions accepted but not finished in time: the outbox sweep.

    Unfinished submissions are rows in PostgreSQL; one queued or processing for longer
    than the ingest lease has lost its task message (a killed worker, a broker that lost
    its data, a crash between the commit and the enqueue) and is queued again. Running
    it twice is harmless: ingest is idempotent per submission.
    """
    settings = _settings()
    store = _store()
    if store.client.llen(QUEUE_INGEST):
        return 0  # a backlog is still draining: its submissions are queued, not lost
    now = time.time()
    stalled = store.stalled(older_than=now - settings.ingest_lease, now=now)
    for submission_id in stalled:
        ingest.delay(submission_id)
    if stalled:
        log.warning("re-enqueued %d stalled submissions", len(stalled))
    return len(stalled)


@shared_task(name="syndicate.ping")
def ping(counter_key: str | None = None) -> str:
    """Do nothing but count: a liveness probe and the no-op ceiling of the benchmarks."""
    if counter_key:
        _store().client.incr(counter_key)
    return "pong"
