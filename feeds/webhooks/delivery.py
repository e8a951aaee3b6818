"""The delivery engine: claim a batch of attempts, send them at once, record the outcomes.

    attempt_many(pairs) -> claim (one statement) -> sign -> send concurrently (sender)
        -> each response judged as it comes -> outcomes recorded by the batch

One :class:`Deliveries` per process. Its sender runs an event loop thread; its recorder
thread takes the responses of every batch in flight, from every caller, and records
what came within a few milliseconds in one transaction (one round trip), then tells
:attr:`Deliveries.after_record` which endpoints have a free slot again (the deliver
task promotes their next messages). A slow endpoint holds only its own request: the
others' outcomes are recorded, and their endpoints' next messages sent, meanwhile.

A caller may stop waiting for its batch (``wait``): the attempts still in flight are
recorded when they end. A worker that stops waits for them (:meth:`Deliveries.drain`);
if the process dies first, their leases end and the messages come due again, as for a
lost task.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from config.logging import current_task
from config.settings import Settings
from feeds.addresses import Network, Resolver
from feeds.webhooks.pacing import RateBudgets
from feeds.webhooks.policy import judge
from feeds.webhooks.records import Attempt, Endpoint, Message
from feeds.webhooks.schedule import Outcome
from feeds.webhooks.sender import AsyncSender, Request, Response
from feeds.webhooks.signing import webhook_headers
from feeds.webhooks.store import WebhookStore
from worker import telemetry, tracing
from worker.patience import patiently

# Attempt lines keep the logger name they have always had (log filters and alerts use it).
log = logging.getLogger("feeds.webhooks.service")

#: Responses that came within this long of the first one waiting are recorded together.
RECORD_WINDOW = 0.01
#: At most this many outcomes per transaction.
RECORD_MAX = 500


@dataclass(frozen=True, slots=True)
class AttemptReport:
    """What became of one attempt asked for: ``outcome`` is the verdict, or "stale" (the
    claim was refused), "held" (endpoint disabled) or "sending" (still in flight)."""

    outcome: str  # or "throttled" (over the endpoint's rate limit: back to the schedule)
    message_id: str
    endpoint_id: str = ""
    status: int | None = None


@dataclass(slots=True)
class _Batch:
    """The attempts of one call, and how many are still unrecorded."""

    reports: list[AttemptReport]
    remaining: int
    #: The task that asked for them (``task_id``, ``task_name``), for their log lines.
    task: dict[str, str]
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, slots=True)
class _Sent:
    """An attempt whose response (or failure) came, to judge and record."""

    batch: _Batch
    index: int
    message: Message
    endpoint: Endpoint
    token: int
    sent_at: float
    response: Response
    answered_at: float
    trace_parent: Any | None = None  # the deliver task's span, when tracing is on


class Deliveries:
    """Makes attempts in batches (see the module's documentation)."""

    def __init__(
        self,
        store: WebhookStore,
        settings: Settings,
        *,
        allowed: tuple[Network, ...],
        resolve: Resolver,
        unit_random: Callable[[], float],
        clock: Callable[[], float],
        budgets: RateBudgets | None = None,
    ) -> None:
        self.store = store
        self.budgets = budgets
        self.settings = settings
        self.allowed = allowed
        self.resolve = resolve
        self.unit_random = unit_random
        self.clock = clock
        #: Called (in the recorder's thread) with the endpoints whose outcomes were just
        #: recorded and the task that began those attempts; the worker sends their next
        #: due messages.
        self.after_record: Callable[[list[str], dict[str, str]], None] | None = None
        self._sender: AsyncSender | None = None
        self._responses: queue.SimpleQueue[_Sent] = queue.SimpleQueue()
        self._recorder: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0  # attempts sent and not yet recorded
        self._settled = threading.Condition(self._lock)
        self._stopping = False

    def attempt_many(
        self,
        pairs: Sequence[tuple[str, int]],
        *,
        wait: float | None = None,
        task: dict[str, str] | None = None,
    ) -> list[AttemptReport]:
        """Make the attempts promotions asked for, (message id, token) pairs, each at most
        once per token. Returns a report per pair, once all are recorded or after
        ``wait`` seconds (those still in flight are reported as "sending"). Their log
        lines name ``task`` (``task_id``, ``task_name``), by default the current task."""
        started = self.clock()
        taken = self.store.take_many(pairs, now=started, guard=self.settings.attempt_guard)
        # Claimed: from here on, a database outage is waited out rather than leaving the
        # claimed messages to their lease (a repeated claim within the guard is refused).
        by_id = {message.id: (message, endpoint) for message, endpoint in taken}
        reports = [AttemptReport("stale", message_id) for message_id, _ in pairs]
        held = [(i, *by_id[m]) for i, (m, _) in enumerate(pairs) if m in by_id and
                not by_id[m][1].enabled]  # fmt: skip
        if held:
            self._hold(held, pairs, reports, started)
        sending = [(i, *by_id[m]) for i, (m, _) in enumerate(pairs) if m in by_id and
                   by_id[m][1].enabled]  # fmt: skip
        sending = self._within_rate_limits(sending, pairs, reports, started)
        if not sending:
            return reports
        if task is None:
            task_id, task_name = current_task()
            task = {key: value for key, value in (("task_id", task_id), ("task_name", task_name))
                    if value}  # fmt: skip
        batch = _Batch(reports, len(sending), task)
        for index, message, _ in sending:
            reports[index] = AttemptReport("sending", message.id, message.endpoint)
        self._send(batch, [(i, m, e, pairs[i][1]) for i, m, e in sending])
        batch.done.wait(wait)
        return list(batch.reports)

    def drain(self, timeout: float) -> int:
        """Send nothing new and wait up to ``timeout`` seconds for the attempts in flight
        to be recorded (a worker stopping); returns how many were still in flight."""
        with self._settled:
            self._stopping = True
            self._settled.wait_for(lambda: self._in_flight == 0, timeout)
            return self._in_flight

    def close(self) -> None:
        """Close the sender's connections (attempts in flight are abandoned)."""
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def _hold(
        self,
        held: list[tuple[int, Message, Endpoint]],
        pairs: Sequence[tuple[str, int]],
        reports: list[AttemptReport],
        now: float,
    ) -> None:
        outcomes = [(Outcome(m.id, pairs[i][1], "hold", now, None), e.id) for i, m, e in held]
        patiently(lambda: self.store.finish_many(outcomes), self.settings.redis_patience)
        for index, message, endpoint in held:
            reports[index] = AttemptReport("held", message.id, endpoint.id)

    def _within_rate_limits(
        self,
        sending: list[tuple[int, Message, Endpoint]],
        pairs: Sequence[tuple[str, int]],
        reports: list[AttemptReport],
        now: float,
    ) -> list[tuple[int, Message, Endpoint]]:
        """The attempts the endpoints' rate budgets have room for; the others go back to
        the schedule, due when there is room (no attempt is made or counted)."""
        wanted: dict[str, tuple[int, int]] = {}
        for _, _, endpoint in sending:
            if endpoint.rate_limit:
                rate, count = wanted.get(endpoint.id, (endpoint.rate_limit, 0))
                wanted[endpoint.id] = (rate, count + 1)
        if not wanted or self.budgets is None:
            return sending
        grants = self.budgets.take(wanted)
        going, deferred = [], []
        for item in sending:
            grant = grants.get(item[2].id)
            if grant is None or grant.granted > 0:
                going.append(item)
                if grant is not None:
                    grants[item[2].id] = replace(grant, granted=grant.granted - 1)
            else:
                deferred.append(item)
        if deferred:
            outcomes = [(Outcome(m.id, pairs[i][1], "retry", now, None, now + grants[e.id].wait),
                         e.id) for i, m, e in deferred]  # fmt: skip
            patiently(lambda: self.store.finish_many(outcomes), self.settings.redis_patience)
            for index, message, endpoint in deferred:
                reports[index] = AttemptReport("throttled", message.id, endpoint.id)
        return going

    def _send(self, batch: _Batch, items: list[tuple[int, Message, Endpoint, int]]) -> None:
        sender, _ = self._started()
        sent_at = self.clock()
        requests = [
            Request(endpoint.url, message.body,
                    webhook_headers(endpoint.live_secrets(sent_at), message.id, int(sent_at),
                                    message.body))
            for _, message, endpoint, _ in items
        ]  # fmt: skip

        trace_parent = tracing.current_context()

        def answered(position: int, response: Response) -> None:
            index, message, endpoint, token = items[position]
            self._responses.put(_Sent(batch, index, message, endpoint, token, sent_at, response,
                                      self.clock(), trace_parent))  # fmt: skip

        with self._lock:
            self._in_flight += len(items)
        sender.send(requests, answered)

    def _started(self) -> tuple[AsyncSender, threading.Thread]:
        """The sender and the recorder, made on first use (after a worker forks)."""
        with self._lock:
            if self._sender is None:
                self._sender = AsyncSender(
                    self.allowed, connect_timeout=self.settings.webhook_connect_timeout,
                    timeout=self.settings.webhook_timeout, resolve=self.resolve,
                )  # fmt: skip
            if self._recorder is None:
                self._recorder = threading.Thread(
                    target=self._record_forever, name="webhook-recorder", daemon=True
                )
                self._recorder.start()
            return self._sender, self._recorder

    # The recorder thread

    def _record_forever(self) -> None:
        while True:
            first = self._responses.get()
            pending = [first]
            window_end = time.monotonic() + RECORD_WINDOW
            while len(pending) < RECORD_MAX:
                left = window_end - time.monotonic()
                try:
                    pending.append(self._responses.get(timeout=max(left, 0.0)))
                except queue.Empty:
                    break
            try:
                self._record(pending)
            except Exception:  # the thread must live on; the leases recover the messages
                log.exception("webhook outcomes not recorded (%d attempts)", len(pending))
                self._settle(pending, ["error"] * len(pending))

    def _record(self, pending: list[_Sent]) -> None:
        outcomes = [self._judged(sent) for sent in pending]
        results = patiently(
            lambda: self.store.finish_many([(o, s.endpoint.id) for o, s in zip(outcomes, pending,
                                                                                strict=True)]),
            self.settings.redis_patience,
        )  # fmt: skip
        for sent, outcome, result in zip(pending, outcomes, results, strict=True):
            _log_attempt(sent, outcome.kind, outcome.reason, result)
            _trace_attempt(sent, outcome.kind)
        telemetry.record_many(
            "webhook_attempt_seconds",
            [(o.kind, s.response.latency) for o, s in zip(outcomes, pending, strict=True)],
        )
        self._settle(pending, [o.kind for o in outcomes])
        if self.after_record is not None and not self._stopping:
            endpoints = list(dict.fromkeys(sent.endpoint.id for sent in pending))
            try:
                self.after_record(endpoints, pending[0].batch.task)
            except Exception:  # recorded already: the beat's next tick sends what is due
                log.exception("next messages of %d endpoints not sent now", len(endpoints))

    def _judged(self, sent: _Sent) -> Outcome:
        response, now = sent.response, sent.answered_at
        verdict = judge(
            response.status, error=response.error, attempt=sent.message.round_attempts + 1,
            schedule=self.settings.webhook_schedule, retry_after=response.retry_after, now=now,
            retry_after_min=self.settings.webhook_retry_after_min,
            failing_since=sent.endpoint.failing_since,
            disable_after=self.settings.webhook_disable_after, unit_random=self.unit_random(),
        )  # fmt: skip
        next_due = now + verdict.delay if verdict.kind == "retry" else None
        record = Attempt(
            at=sent.sent_at, status=response.status,
            latency_ms=round(response.latency * 1000, 1), outcome=verdict.kind,
            response=response.body, error=response.error, reason=verdict.reason,
            next_due=next_due,
        )  # fmt: skip
        return Outcome(sent.message.id, sent.token, verdict.kind, now, record, next_due or 0.0,
                       verdict.reason, response.status)  # fmt: skip

    def _settle(self, pending: list[_Sent], outcomes: list[str]) -> None:
        for sent, outcome in zip(pending, outcomes, strict=True):
            batch = sent.batch
            batch.reports[sent.index] = AttemptReport(
                outcome, sent.message.id, sent.endpoint.id, sent.response.status
            )
            batch.remaining -= 1
            if batch.remaining == 0:
                batch.done.set()
        with self._settled:
            self._in_flight -= len(pending)
            self._settled.notify_all()


def _trace_attempt(sent: _Sent, kind: str) -> None:
    if sent.trace_parent is None:
        return
    attributes: dict[str, Any] = {
        "webhook.id": sent.message.id,
        "syndicate.endpoint_id": sent.endpoint.id,
        "server.address": urlsplit(sent.endpoint.url).hostname or "",
        "syndicate.outcome": kind,
    }
    if sent.response.status is not None:
        attributes["http.response.status_code"] = sent.response.status
    tracing.record_span("webhook attempt", sent.trace_parent, start=sent.sent_at,
                        end=sent.answered_at, attributes=attributes)  # fmt: skip


def _log_attempt(sent: _Sent, kind: str, reason: str, result: int) -> None:
    message, endpoint = sent.message, sent.endpoint
    # Logged in the recorder's thread: the task that made the attempt is named here.
    context = {"message_id": message.id, "endpoint_id": endpoint.id,
               "article_id": message.article_id, **sent.batch.task}  # fmt: skip
    if result == 2:
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason, extra=context)
    elif kind == "dead":
        log.warning("message %s to %s dead-lettered: %s", message.id, endpoint.id, reason,
                    extra=context)  # fmt: skip
    elif kind == "retry":
        log.info("message %s to %s will be retried: %s", message.id, endpoint.id, reason,
                 extra=context)  # fmt: skip
    else:
        log.info("message %s to %s: %s", message.id, endpoint.id, kind, extra=context)
