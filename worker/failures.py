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

Importing this module connects :data:`celery.signals.task_failure`, which Celery sends
when a task raises and will not be retried (``autoretry_for`` retries and
``self.retry()`` send ``task_retry`` instead; the last one, over ``max_retries``, fails).
The receiver never raises: a failure to record is logged.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import time
import traceback as traceback_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from celery.signals import task_failure
from psycopg.types.json import Jsonb

from config.settings import Settings
from worker.core.errors import SyndicateError
from worker.core.options import CoreOptions
from worker.database.connect import Database
from worker.store import FailedSubmission, RejectedInput, Store

if TYPE_CHECKING:
    from worker.submit import Submitter

log = logging.getLogger(__name__)

ARGS_LIMIT = 2048
TRACEBACK_LIMIT = 4096
MESSAGE_LIMIT = 1024
PREVIEW_CHARS = 4096
KINDS = ("articles", "rejected", "tasks", "all")

Kind = Literal["articles", "rejected", "tasks", "all"]
#: Sends a task by name with positional and keyword arguments; returns the new task id.
SendTask = Callable[[str, list[Any], dict[str, Any]], str]

_ROW_ID = re.compile(r"\d{1,18}")  # a bigint identity
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
_TRUNCATED = "…[truncated]"

# Secrets that could reach a traceback or an exception message: webhook secrets, bearer
# tokens, passwords in URLs (redis://:pw@host) and key=value / "key": "value" pairs.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_***"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]+@"), r"\1***@"),
    (
        re.compile(
            r"(?i)\b(\w*(?:secret|token|passw(?:or)?d|api_?key|authorization)\w*['\"]?"
            r"\s*[:=]\s*['\"]?)(?!\*\*\*)[^\s'\",;&)}\]]+"
        ),
        r"\1***",
    ),
)


class FailureNotFoundError(SyndicateError):
    """No failure with that id (HTTP 404, CLI exit 2)."""


class FailureConflictError(SyndicateError):
    """The failure cannot be retried or discarded in its current state (HTTP 409)."""


# -- helpers -------------------------------------------------------------------------


def scrub(text: str) -> str:
    """``text`` with secrets replaced by ``***`` (whsec_..., bearer tokens, passwords)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def truncate(text: str, limit: int, *, keep: Literal["head", "tail"] = "head") -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` UTF-8 bytes (marker included); whether it was cut.

    ``keep="tail"`` keeps the end (a traceback's last frames and its exception line).
    """
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text, False
    room = max(0, limit - len(_TRUNCATED.encode()))
    if keep == "head":
        return data[:room].decode("utf-8", "ignore") + _TRUNCATED, True
    return _TRUNCATED + data[len(data) - room :].decode("utf-8", "ignore"), True


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # an exception whose __str__ fails
        return f"<{type(value).__name__}>"


def _exception_type(exception: BaseException | None) -> str:
    if exception is None:
        return "Exception"
    kind = type(exception)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


# -- task dead letters ---------------------------------------------------------------


def task_failure_entry(
    *,
    task_name: str,
    task_id: str,
    args: Any,
    kwargs: Any,
    exception: BaseException | None,
    traceback_text: str,
    hostname: str,
    retries: int,
    at: float,
) -> dict[str, str]:
    """The stream fields recorded for one failed task (truncated and scrubbed)."""
    args_text, args_cut = truncate(_json_text(list(args or ())), ARGS_LIMIT)
    kwargs_text, kwargs_cut = truncate(_json_text(dict(kwargs or {})), ARGS_LIMIT)
    message, _ = truncate(scrub(_safe_str(exception)), MESSAGE_LIMIT)
    traceback_scrubbed, _ = truncate(scrub(traceback_text), TRACEBACK_LIMIT, keep="tail")
    return {
        "task_name": task_name,
        "task_id": task_id,
        "args": args_text,
        "kwargs": kwargs_text,
        "arguments_truncated": "1" if args_cut or kwargs_cut else "0",
        "exception_type": _exception_type(exception),
        "exception_message": message,
        "traceback": traceback_scrubbed,
        "hostname": hostname,
        "retries": str(retries),
        "at": repr(at),
    }


def record_task_failure(db: Database, entry: Mapping[str, str]) -> str:
    """Keep one dead letter in the ``task_failures`` table; returns its id."""
    at = datetime.fromtimestamp(float(entry.get("at") or time.time()), UTC)
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO task_failures (at, fields) VALUES (%s, %s) RETURNING id",
            (at, Jsonb(dict(entry))),
        ).fetchone()
    assert row is not None
    return str(row[0])


@cache
def _recorder() -> Database:
    return Database.from_settings(Settings.from_env(), max_size=2)


def _request_value(task: object, name: str) -> Any:
    try:
        return getattr(getattr(task, "request", None), name, None)
    except Exception:
        return None


@task_failure.connect(weak=False, dispatch_uid="syndicate.failures.task_failure")  # type: ignore[untyped-decorator]
def on_task_failure(
    *,
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    traceback: Any = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    """Record a task that failed for good in ``syn:task-failures``; never raises."""
    name = "?"
    try:
        name = str(getattr(sender, "name", None) or "?")
        traceback_text = getattr(einfo, "traceback", None) or "".join(
            traceback_module.format_exception(type(exception), exception, traceback)
            if exception is not None
            else []
        )
        entry = task_failure_entry(
            task_name=name,
            task_id=task_id or "",
            args=args,
            kwargs=kwargs,
            exception=exception,
            traceback_text=str(traceback_text),
            hostname=_request_value(sender, "hostname") or socket.gethostname(),
            retries=int(_request_value(sender, "retries") or 0),
            at=time.time(),
        )
        record_task_failure(_recorder(), entry)
    except Exception:
        log.exception("could not record the failure of task %s[%s]", name, task_id)


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """One dead-lettered task."""

    entry_id: str
    at: float
    task_name: str
    task_id: str
    args: str
    kwargs: str
    arguments_truncated: bool
    exception_type: str
    exception_message: str
    traceback: str
    hostname: str
    retries: int

    @classmethod
    def from_fields(cls, entry_id: str, at: float, fields: Mapping[Any, Any]) -> TaskFailure:
        data = {_text(key): _text(value) for key, value in fields.items()}
        return cls(
            entry_id=entry_id,
            at=at,
            task_name=data.get("task_name", ""),
            task_id=data.get("task_id", ""),
            args=data.get("args", "[]"),
            kwargs=data.get("kwargs", "{}"),
            arguments_truncated=data.get("arguments_truncated") == "1",
            exception_type=data.get("exception_type", ""),
            exception_message=data.get("exception_message", ""),
            traceback=data.get("traceback", ""),
            hostname=data.get("hostname", ""),
            retries=int(data.get("retries") or 0),
        )


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def task_failures(db: Database, limit: int = 50, since: float | None = None) -> list[TaskFailure]:
    """Dead-lettered tasks, newest first."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT id, at, fields FROM task_failures WHERE at >= %s "
            "ORDER BY at DESC, id DESC LIMIT %s",
            (datetime.fromtimestamp(since or 0.0, UTC), limit),
        ).fetchall()
    return [TaskFailure.from_fields(str(i), at.timestamp(), fields) for i, at, fields in rows]


def task_failure_by_id(db: Database, entry_id: str) -> TaskFailure | None:
    """One dead-lettered task by its id."""
    if not _ROW_ID.fullmatch(entry_id):
        return None
    with db.connection() as conn:
        row = conn.execute(
            "SELECT id, at, fields FROM task_failures WHERE id = %s", (int(entry_id),)
        ).fetchone()
    return None if row is None else TaskFailure.from_fields(str(row[0]), row[1].timestamp(), row[2])


def discard_task_failure(db: Database, entry_id: str) -> bool:
    if not _ROW_ID.fullmatch(entry_id):
        return False
    with db.connection() as conn:
        cursor = conn.execute("DELETE FROM task_failures WHERE id = %s", (int(entry_id),))
    return cursor.rowcount > 0


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
