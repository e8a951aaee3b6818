"""Submitting articles from Python: the function the HTTP API and the CLI share.

    from worker.submit import Submitter
    submitter = Submitter.from_settings()            # REDIS_URL, or the embedded Redis
    accepted = submitter.submit(path.read_bytes())   # format sniffed; or format="markdown"
    print(accepted.article_id, accepted.submission_id)

``submit`` validates the input with the pure pipeline first, so bad input raises
:class:`~worker.core.errors.InputError` at once (and is kept with its error for
inspection); good input is committed to PostgreSQL with its raw bytes, then queued for a
worker. A submission whose enqueue fails (the broker is down) is still accepted: it is
committed, and the outbox sweep (``syndicate.requeue_stalled``) queues it later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from celery import Celery

from config.settings import Settings
from worker.core.errors import InputError
from worker.core.pipeline import parse_article
from worker.patience import REDIS_TROUBLE
from worker.store import Store, Submission

log = logging.getLogger(__name__)
Enqueue = Callable[[str], None]
_SHORT_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
SendTask = Callable[[str, object], None]


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted submission: the article id and the submission to follow."""

    article_id: str
    submission_id: str
    seq: int
    warnings: tuple[str, ...] = ()


class Submitter:
    """Validates, stores and enqueues submissions."""

    def __init__(
        self, store: Store, settings: Settings, enqueue: Enqueue, send_task: SendTask | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self._enqueue = enqueue
        self._send_task = send_task
        # Validation needs no summaries; the worker computes them.
        self._validation = replace(settings.core, summaries=False)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, app: Celery | None = None
    ) -> Submitter:
        """A submitter for the configured Redis and Celery app."""
        settings = settings or Settings.from_env()
        if app is None:
            from config.celery_app import create_app  # noqa: PLC0415 - builds a Celery app

            app = create_app(settings)
        celery_app = app

        def enqueue(submission_id: str) -> None:
            # A short retry: a broker that is down must not hold the client's request.
            celery_app.send_task(
                "syndicate.ingest", args=[submission_id], retry_policy=_SHORT_RETRY
            )

        def send_task(name: str, argument: object) -> None:
            celery_app.send_task(name, args=[argument])

        return cls(Store.from_settings(settings), settings, enqueue, send_task)

    def enqueue_task(self, name: str, argument: object) -> None:
        """Queue another task by name with one JSON argument (e.g. WebSub verification)."""
        if self._send_task is None:
            raise RuntimeError("this submitter was built without a Celery app")
        self._send_task(name, argument)

    def submit(
        self,
        data: bytes,
        *,
        format: str | None = None,
        content_type: str | None = None,
    ) -> Accepted:
        """Validate and queue one article; raises InputError for bad input."""
        now = time.time()
        try:
            parsed = parse_article(
                data, format=format, content_type=content_type, options=self._validation
            )
        except InputError as error:
            self.store.record_rejected(
                raw=data, error=str(error), content_type=content_type, at=now
            )
            raise
        submission = self.store.accept(
            kind="upsert",
            article_id=parsed.article.id,
            received_at=now,
            raw=data,
            format=parsed.format,
            content_type=content_type,
        )
        self._enqueue_or_leave_to_sweep(submission.id)
        return Accepted(
            parsed.article.id, submission.id, submission.seq, tuple(map(str, parsed.warnings))
        )

    def withdraw(self, article_id: str) -> Submission | None:
        """Queue the deletion of an article; ``None`` if the article is unknown."""
        if self.store.article(article_id) is None:
            return None
        submission = self.store.accept(
            kind="delete", article_id=article_id, received_at=time.time()
        )
        self._enqueue_or_leave_to_sweep(submission.id)
        return submission

    def _enqueue_or_leave_to_sweep(self, submission_id: str) -> None:
        """Queue the ingest task; if the broker is unreachable, the submission is already
        committed, and the outbox sweep queues it once the broker is back."""
        try:
            self._enqueue(submission_id)
        except REDIS_TROUBLE as error:
            log.warning(
                "submission %s accepted but not queued (%s); the sweep will queue it",
                submission_id, error, extra={"submission_id": submission_id},
            )  # fmt: skip
