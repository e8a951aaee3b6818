"""Failures, kept and recoverable: failed articles, refused inputs and dead-lettered tasks.

Three kinds of failure, one view (``syndicate failures ...`` and ``/v1/failures``):

=========  ===================  =========================================================
id         kept in (PostgreSQL)  what it is
=========  ===================  =========================================================
sub_<id>   ``submissions``      a submission whose processing failed (bad input, a crash):
                                its row keeps the raw input and the error
rej_<id>   ``rejected_inputs``  input the API refused (422) before it became a
                                submission, with its raw bytes and the error
task_<id>  ``task_failures``    a task that raised and will not be retried: its name,
                                arguments, exception and scrubbed traceback
=========  ===================  =========================================================

``sub_`` is followed by the submission id, ``rej_`` and ``task_`` by the row id. A bare
32-character submission id is accepted too.

Retry: a failed submission goes back to ``queued`` and ``syndicate.ingest`` is sent
again; a refused input is submitted again (validated: still invalid is an
:class:`~worker.core.errors.InputError` and the entry stays); a task is sent again by
name with the same arguments. Discard: a failed submission is marked ``discarded`` (its
row stays, for audit); refused inputs and task failures are deleted.

Task dead letters are recorded by :mod:`worker.task_failures` (importing this module
imports it, which connects Celery's ``task_failure`` signal).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from config.settings import Settings
from worker.core.errors import SyndicateError
from worker.core.options import CoreOptions
from worker.store import FailedSubmission, RejectedInput, Store
from worker.task_failures import (
    ARGS_LIMIT,
    TaskFailure,
    discard_task_failure,
    scrub,
    task_failure_by_id,
    task_failures,
)

if TYPE_CHECKING:
    from worker.submit import Submitter

log = logging.getLogger(__name__)

PREVIEW_CHARS = 4096
KINDS = ("articles", "rejected", "tasks", "all")

Kind = Literal["articles", "rejected", "tasks", "all"]
#: Sends a task by name with positional and keyword arguments; returns the new task id.
SendTask = Callable[[str, list[Any], dict[str, Any]], str]

_ROW_ID = re.compile(r"\d{1,18}")  # a bigint identity
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


class FailureNotFoundError(SyndicateError):
    """No failure with that id (HTTP 404, CLI exit 2)."""


class FailureConflictError(SyndicateError):
    """The failure cannot be retried or discarded in its current state (HTTP 409)."""


# -- the service ---------------------------------------------------------------------


def celery_sender(settings: Settings) -> SendTask:
    """Send tasks through a Celery app of its own, built on first use."""
    app: Any = None

    def send(name: str, args: list[Any], kwargs: dict[str, Any]) -> str:
        nonlocal app
        if app is None:
            from celery import Celery  # noqa: PLC0415

            from config.celery_app import celery_config  # noqa: PLC0415

            app = Celery("syndicate", set_as_current=False)
            app.conf.update(celery_config(settings))
        return str(app.send_task(name, args=args, kwargs=kwargs).id)

    return send


class Failures:
    """List, show, retry and discard failures of every kind (the CLI and API share it)."""

    def __init__(
        self,
        submitter: Submitter,
        send_task: SendTask | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.submitter = submitter
        self.store: Store = submitter.store
        self.settings = submitter.settings
        self._send_task = send_task
        self.clock = clock

    def send_task(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> str:
        if self._send_task is None:
            self._send_task = celery_sender(self.settings)
        return self._send_task(name, args, kwargs)

    # -- reading ---------------------------------------------------------------------

    def list_failures(
        self, kind: Kind = "all", *, limit: int = 50, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Failures of one kind (or all), newest first, as JSON-ready summaries."""
        if kind not in KINDS:
            raise FailureConflictError(f"kind must be one of {', '.join(KINDS)}")
        found: list[dict[str, Any]] = []
        if kind in ("articles", "all"):
            found += [_submission_view(f) for f in self.store.failures(limit, since)]
        if kind in ("rejected", "all"):
            found += [_rejected_view(r) for r in self.store.rejected_inputs(limit, since)]
        if kind in ("tasks", "all"):
            found += [_task_view(t) for t in task_failures(self.store.db, limit, since)]
        found.sort(key=lambda item: item["at"] or 0, reverse=True)
        return found[:limit]

    def show(self, failure_id: str) -> dict[str, Any]:
        """One failure with everything kept: raw input (base64 and a text preview) or, for
        a task, its arguments and scrubbed traceback."""
        kind, key = parse_failure_id(failure_id)
        if kind == "sub":
            submission = self.store.failed_submission(key)
            if submission is None:
                raise FailureNotFoundError(f"no submission with id {key!r}")
            return _submission_view(submission) | _raw_view(submission.raw or b"")
        if kind == "rej":
            rejected = self.store.rejected_input(key)
            if rejected is None:
                raise FailureNotFoundError(f"no rejected input {failure_id!r}")
            return _rejected_view(rejected) | _raw_view(rejected.raw)
        task = task_failure_by_id(self.store.db, key)
        if task is None:
            raise FailureNotFoundError(f"no task failure {failure_id!r}")
        return _task_view(task, full=True)

    # -- acting ----------------------------------------------------------------------

    def retry(self, failure_id: str) -> dict[str, Any]:
        """Try a failure again; what was queued (raises InputError for still-bad input)."""
        kind, key = parse_failure_id(failure_id)
        if kind == "sub":
            return self._retry_submission(key)
        if kind == "rej":
            return self._retry_rejected(failure_id, key)
        return self._retry_task(failure_id, key)

    def discard(self, failure_id: str) -> None:
        """Forget a failure (a failed submission is kept, marked ``discarded``)."""
        kind, key = parse_failure_id(failure_id)
        if kind == "sub":
            if not self.store.discard_failure(key, now=self.clock()):
                self._not_failed(key)
            return
        if kind == "rej":
            if not self.store.discard_rejected(key):
                raise FailureNotFoundError(f"no rejected input {failure_id!r}")
            return
        if not discard_task_failure(self.store.db, key):
            raise FailureNotFoundError(f"no task failure {failure_id!r}")

    def retry_all_articles(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Retry every failed submission (up to ``limit``, newest first)."""
        retried = []
        for failed in self.store.failures(limit):
            try:
                retried.append(self._retry_submission(failed.id))
            except FailureConflictError:
                continue  # retried or discarded meanwhile
        return retried

    def _retry_submission(self, submission_id: str) -> dict[str, Any]:
        if not self.store.retry_failure(submission_id, now=self.clock()):
            self._not_failed(submission_id)
        enqueued = True
        try:
            self.send_task("syndicate.ingest", [submission_id], {})
        except Exception as error:
            # The submission is queued and pending: the stalled sweep re-sends it.
            log.warning("could not enqueue the retry of %s: %s", submission_id, error)
            enqueued = False
        return {
            "id": f"sub_{submission_id}",
            "kind": "article",
            "submission": submission_id,
            "status": "queued",
            "enqueued": enqueued,
            "status_url": f"/v1/submissions/{submission_id}",
        }

    def _retry_rejected(self, failure_id: str, entry_id: str) -> dict[str, Any]:
        from worker.core.pipeline import parse_article  # noqa: PLC0415

        rejected = self.store.rejected_input(entry_id)
        if rejected is None:
            raise FailureNotFoundError(f"no rejected input {failure_id!r}")
        # Validate first, as submit would: still-bad input raises InputError and keeps its
        # entry, without submit recording it a second time.
        parse_article(
            rejected.raw,
            content_type=rejected.content_type,
            options=_validation_options(self.settings),
        )
        accepted = self.submitter.submit(rejected.raw, content_type=rejected.content_type)
        self.store.discard_rejected(entry_id)
        return {
            "id": failure_id,
            "kind": "rejected",
            "article_id": accepted.article_id,
            "submission": accepted.submission_id,
            "status": "queued",
            "status_url": f"/v1/submissions/{accepted.submission_id}",
        }

    def _retry_task(self, failure_id: str, entry_id: str) -> dict[str, Any]:
        task = task_failure_by_id(self.store.db, entry_id)
        if task is None:
            raise FailureNotFoundError(f"no task failure {failure_id!r}")
        if task.arguments_truncated:
            raise FailureConflictError(
                f"{failure_id}: its arguments were over {ARGS_LIMIT} bytes and were cut; "
                "it cannot be sent again"
            )
        try:
            args, kwargs = json.loads(task.args), json.loads(task.kwargs)
        except ValueError:
            raise FailureConflictError(f"{failure_id}: its arguments are not JSON") from None
        new_id = self.send_task(task.task_name, list(args), dict(kwargs))
        discard_task_failure(self.store.db, entry_id)
        return {"id": failure_id, "kind": "task", "task_name": task.task_name, "task_id": new_id}

    def _not_failed(self, submission_id: str) -> None:
        submission = self.store.submission(submission_id)
        if submission is None:
            raise FailureNotFoundError(f"no submission with id {submission_id!r}")
        raise FailureConflictError(
            f"submission {submission_id} is not failed (status: {submission.status})"
        )


def parse_failure_id(failure_id: str) -> tuple[Literal["sub", "rej", "task"], str]:
    """The kind and key of a failure id (``sub_<id>``, ``rej_<entry>``, ``task_<entry>``)."""
    prefix, _, key = failure_id.partition("_")
    if prefix == "sub" and _SUBMISSION_ID.fullmatch(key):
        return "sub", key
    if prefix in ("rej", "task") and _ROW_ID.fullmatch(key):
        return prefix, key  # type: ignore[return-value]
    if _SUBMISSION_ID.fullmatch(failure_id):
        return "sub", failure_id
    raise FailureNotFoundError(
        f"no failure {failure_id!r}: ids are sub_<submission id>, rej_<entry> or task_<entry>"
    )


def _validation_options(settings: Settings) -> CoreOptions:
    return replace(settings.core, summaries=False)


def _submission_view(failed: FailedSubmission) -> dict[str, Any]:
    return {
        "id": f"sub_{failed.id}",
        "kind": "article",
        "at": failed.failed_at,
        "error": failed.error,
        "submission": failed.id,
        "status": failed.status,
        "article_id": failed.article_id,
        "submission_kind": failed.kind,
        "received_at": failed.received_at,
        "failures": failed.failures,
        "retries": failed.retries,
        "discarded_at": failed.discarded_at,
        "size": failed.size,
        "format": failed.format,
        "content_type": failed.content_type,
    }


def _rejected_view(rejected: RejectedInput) -> dict[str, Any]:
    return {
        "id": f"rej_{rejected.entry_id}",
        "kind": "rejected",
        "at": rejected.at,
        "error": rejected.error,
        "size": rejected.size,
        "content_type": rejected.content_type,
    }


def _task_view(task: TaskFailure, *, full: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": f"task_{task.entry_id}",
        "kind": "task",
        "at": task.at,
        "error": f"{task.exception_type}: {task.exception_message}".rstrip(": "),
        "task_name": task.task_name,
        "task_id": task.task_id,
        "retries": task.retries,
        "hostname": task.hostname,
    }
    if full:
        shown |= {
            "args": _shown_arguments(task.args),
            "kwargs": _shown_arguments(task.kwargs),
            "arguments_truncated": task.arguments_truncated,
            "exception_type": task.exception_type,
            "exception_message": task.exception_message,
            "traceback": task.traceback,
        }
    return shown


def _shown_arguments(text: str) -> Any:
    """Arguments as shown to an operator: secrets scrubbed, JSON when it still parses."""
    scrubbed = scrub(text)
    try:
        return json.loads(scrubbed)
    except ValueError:
        return scrubbed


def _raw_view(raw: bytes) -> dict[str, Any]:
    try:
        preview: str | None = raw.decode("utf-8")[:PREVIEW_CHARS]
    except UnicodeDecodeError:
        preview = None
    return {"raw_base64": base64.b64encode(raw).decode("ascii"), "raw_preview": preview}
