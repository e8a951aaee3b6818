"""Dead-lettered tasks: a task that raised and will not be retried is kept in PostgreSQL.

Importing this module connects :data:`celery.signals.task_failure`, which Celery sends
when a task raises and will not be retried (``autoretry_for`` retries and
``self.retry()`` send ``task_retry`` instead; the last one, over ``max_retries``, fails).
The receiver never raises: a failure to record is logged. Arguments, messages and
tracebacks are truncated and scrubbed of secrets before they are kept.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import traceback as traceback_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from celery.signals import task_failure
from psycopg.types.json import Jsonb

from config.settings import Settings
from worker.database.connect import Database

log = logging.getLogger(__name__)

ARGS_LIMIT = 2048
TRACEBACK_LIMIT = 4096
MESSAGE_LIMIT = 1024

_ROW_ID = re.compile(r"\d{1,18}")  # a bigint identity
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
