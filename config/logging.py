"""Structured logs: readable text by default, JSON lines with ``SYNDICATE_LOG_FORMAT=json``.

Every process (Celery ``worker`` and ``beat``, the ``api``, the ``up`` supervisor) calls
:func:`configure_logging` once: the root logger gets one stderr handler, and the loggers
of Celery and uvicorn are made to propagate to it, so every line of a process has the
same shape.

A JSON line holds ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``,
``process``, ``pid`` and ``message``, then the context fields a record carries
(:data:`CONTEXT_FIELDS`: ``article_id``, ``version``, ``submission_id``, ``task_id``,
``task_name``, ``message_id``, ``endpoint_id``, ``feed``), other JSON-serializable
``extra`` values, and ``exc_type``/``exc`` for an exception. Text lines append the
context fields as `` key=value``. Inside a Celery task the task id and name are added
by :class:`TaskContextFilter`.

Routine lines (periodic ticks, start-up chatter) are moved to DEBUG by
:class:`~config.quiet_logs.QuietFilter`. Before anything is written,
:class:`RedactingFilter` scrubs secrets from the message,
every string field and the traceback: webhook secrets (``whsec_…``), ``Bearer`` tokens
and ``Authorization`` values, the configured API tokens, ``secret``/``password``/
``…_token`` key-value pairs (``hub.secret=…`` included) and the userinfo of URLs
(``redis://:***@host``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from config.quiet_logs import QuietFilter

if TYPE_CHECKING:
    from config.settings import Settings

LOG_FORMATS = ("text", "json")

CONTEXT_FIELDS = (
    "article_id",
    "version",
    "submission_id",
    "task_id",
    "task_name",
    "message_id",
    "endpoint_id",
    "feed",
)
"""Context fields, in output order; each is written only when the record carries it."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process_name)s] %(message)s"
REDACTED = "[REDACTED]"

# Attributes every LogRecord has: not ``extra`` context.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "process_name", "taskName"}
# ``extra`` keys other libraries set for their own formatters: Celery's ``data`` (the
# arguments of its message again) and uvicorn's ``color_message`` (ANSI codes).
_IGNORED_EXTRAS = frozenset({"data", "color_message"})
_MAX_DEPTH = 6

# -- Redaction ---------------------------------------------------------------

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@:'\"<>]*)(:[^\s/?#@'\"<>]*)?@")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
_AUTHORIZATION = re.compile(
    r"(?i)(\bauthorization['\"]?\s*[:=]\s*['\"]?)"  # the header name and separator
    r"(?>(?:([a-z][\w-]*)\s+(?=[^\s'\",;]))?)"  # an optional scheme (Bearer, Basic, ...)
    r"(?!\[REDACTED\])[^\s'\",;]+"  # the credentials
)
_QUERY_CREDENTIAL = re.compile(r"(?i)([?&](?:token|key|sig|signature)=)(?!\[REDACTED\])[^&\s#'\"]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_SENSITIVE_NAME = (
    r"(?:[\w.-]*[_.-])?(?:secret|password|passwd|pwd)s?"  # secret, hub.secret, db_password
    r"|(?:[\w.-]*[_.-])?api[_-]?keys?"  # api_key
    r"|[\w.-]*[_.-]tokens?"  # api_token, access_token, SYNDICATE_API_TOKENS (not "token")
)
_SECRET_KEY = re.compile(rf"(?i){_SENSITIVE_NAME}|authorization")
_SECRET_PAIR = re.compile(
    rf"(?i)(?<![\w.-])({_SENSITIVE_NAME})"
    r"(['\"]?\s*[:=]\s*)"  # = or : (also 'key': in a repr and "key": in JSON)
    r"(?!None\b|null\b|\[REDACTED\]|\*\*\*)"
    r"('[^']*'|\"[^\"]*\"|[^\s'\"&;)}\]]+)"
)


def _userinfo(match: re.Match[str]) -> str:
    scheme, user, password = match.group(1), match.group(2), match.group(3)
    if password is not None:
        return f"{scheme}{user}:***@"
    return f"{scheme}***@" if user else match.group(0)


def _authorization(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return f"{match.group(1)}{scheme} {REDACTED}" if scheme else match.group(1) + REDACTED


def _secret_pair(match: re.Match[str]) -> str:
    value = match.group(3)
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match.group(1)}{match.group(2)}{quote}{REDACTED}{quote}"


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_URL_USERINFO, _userinfo),
    (_WEBHOOK_SECRET, "whsec_" + REDACTED),
    (_AUTHORIZATION, _authorization),
    (_BEARER, r"\1 " + REDACTED),
    (_QUERY_CREDENTIAL, r"\1" + REDACTED),
    (_SECRET_PAIR, _secret_pair),
)


class Redactor:
    """Replaces secrets in text: the given literal values and the patterns above."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        literal = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._literal = re.compile("|".join(map(re.escape, literal))) if literal else None

    def __call__(self, text: str) -> str:
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def field(self, name: object, value: object, depth: int = 0) -> object:
        """A field's value redacted; all of it when its name says it is a secret."""
        if isinstance(name, str) and value and _SECRET_KEY.fullmatch(name):
            return REDACTED
        return self.value(value, depth)

    def value(self, value: object, depth: int = 0) -> object:
        """``value`` with every string in it redacted (lists, tuples and dicts copied)."""
        if isinstance(value, str):
            return self(value)
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, Mapping):
            return {key: self.field(key, item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(item, depth + 1) for item in value)
        return value


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record before any formatter sees it.

    The message is formatted here (``msg % args``) and stored back with no arguments, so
    a secret passed as an argument is caught too; the traceback is formatted and
    redacted into ``exc_text``, which formatters use instead of formatting it again.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, redact.field(key, value))
        return True


_PLAIN = logging.Formatter()

# -- Context -----------------------------------------------------------------


def current_task() -> tuple[str | None, str | None]:
    """(id, name) of the Celery task running in this thread, or (None, None).

    Celery is never imported here: a process that has not imported it runs no task.
    """
    state = sys.modules.get("celery._state")
    if state is None:
        return None, None
    try:
        task = state.get_current_task()
        request = task.request if task is not None else None
        task_id = getattr(request, "id", None)
    except Exception:  # context is optional; logging must not fail
        return None, None
    if not isinstance(task_id, str):
        return None, None
    name = getattr(task, "name", None)
    return task_id, name if isinstance(name, str) else None


class TaskContextFilter(logging.Filter):
    """Adds ``task_id`` and ``task_name`` to records emitted inside a Celery task.

    Celery's own lines about a task logged outside it (``Task … received``, a failure
    reported by the pool) carry the task in ``extra={"data": {"id", "name", …}}``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "task_id", None) is not None:
            return True
        task_id, task_name = current_task()
        if task_id is None:
            data = getattr(record, "data", None)
            if isinstance(data, Mapping) and isinstance(data.get("id"), str):
                task_id = data["id"]
                name = data.get("name")
                task_name = name if isinstance(name, str) else None
        if task_id is not None:
            record.task_id = task_id
            if task_name is not None and getattr(record, "task_name", None) is None:
                record.task_name = task_name
        return True


# -- Formatters --------------------------------------------------------------


def rfc3339(record: logging.LogRecord) -> str:
    """The record's time as RFC 3339 in UTC with milliseconds: 2025-01-31T12:00:00.123Z."""
    stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{int(record.msecs):03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """``extra`` values that are not context fields, in the order they were given."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRIBUTES
        and key not in CONTEXT_FIELDS
        and key not in _IGNORED_EXTRAS
        and not key.startswith("_")
    }


def _exception_type(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[0] is None:
        return None
    kind = record.exc_info[0]
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": rfc3339(record),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if _serializable(value) else str(value)
        for key, value in _extras(record).items():
            if key not in entry and _serializable(value):
                entry[key] = value
        exc_type = _exception_type(record)
        if exc_type is not None:
            entry["exc_type"] = exc_type
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def _serializable(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class TextFormatter(logging.Formatter):
    """``2025-01-31T12:00:00.123Z INFO worker.ingest [worker] message key=value …``."""

    def __init__(self, process: str) -> None:
        super().__init__(TEXT_FORMAT)
        self.process = process

    def formatTime(  # noqa: N802 - logging's name
        self, record: logging.LogRecord, datefmt: str | None = None
    ) -> str:
        return rfc3339(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.process_name = self.process
        line = super().formatMessage(record)
        context = [
            f"{name}={_text_value(value)}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        return " ".join([line, *context])


def _text_value(value: object) -> str:
    text = str(value)
    if text and not any(char.isspace() or char in "\"'=" for char in text):
        return text
    return json.dumps(text, ensure_ascii=False)


# -- Set-up ------------------------------------------------------------------


def make_handler(
    log_format: str,
    *,
    process: str,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
    filename: str | None = None,
) -> logging.Handler:
    """A handler writing ``log_format`` lines, with task context and redaction."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler: logging.Handler
    if filename is not None:
        handler = logging.FileHandler(filename, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.addFilter(QuietFilter())
    handler.addFilter(TaskContextFilter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    formatter = JsonFormatter(process) if log_format == "json" else TextFormatter(process)
    handler.setFormatter(formatter)
    return handler


def configure_logging(
    settings_or_format: Settings | str,
    *,
    process: str,
    level: int | str = logging.INFO,
    stream: IO[str] | None = None,
    filename: str | None = None,
) -> None:
    """Send every log record of this process to stderr (or ``filename``) in one format.

    ``settings_or_format`` is the :class:`~config.settings.Settings` (its ``log_format``
    and ``api_tokens``, which are redacted) or just ``"text"``/``"json"``. Replaces any
    handler on the root logger, so calling it again reconfigures rather than duplicates.
    """
    secrets: tuple[str, ...] = ()
    if isinstance(settings_or_format, str):
        log_format = settings_or_format
    else:
        log_format, secrets = settings_or_format.log_format, settings_or_format.api_tokens
    handler = make_handler(
        log_format, process=process, secrets=secrets, stream=stream, filename=filename
    )
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
        if isinstance(previous, logging.FileHandler):
            previous.close()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log lines of the same shape
    _adopt_uvicorn_loggers()


def _adopt_uvicorn_loggers() -> None:
    """Make uvicorn's loggers propagate to the root handler instead of their own.

    uvicorn configures its loggers (``uvicorn`` with a handler, ``uvicorn.access`` with
    another) before it imports the application; the API's factory then calls
    :func:`configure_logging`, which takes them over here. An access logger without
    handlers that does not propagate is uvicorn's ``--no-access-log``: left alone.
    """
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.Logger.manager.loggerDict.get(name)
        if isinstance(logger, logging.Logger) and logger.handlers:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


# -- Celery ------------------------------------------------------------------


def celery_process_name(argv: Iterable[str] | None = None) -> str:
    """``worker`` or ``beat`` from the Celery command line; ``celery`` otherwise."""
    arguments = set(sys.argv[1:] if argv is None else argv)
    if "worker" in arguments:
        return "worker"
    if "beat" in arguments:
        return "beat"
    return "celery"


ROOT_EXPLAINED = "SYNDICATE_ROOT_EXPLAINED"
"""Set by ``syndicate up`` once it has explained running as root: its workers then do not
repeat Celery's superuser warning each."""


def install_celery_logging() -> None:
    """Configure logging when Celery would (worker and beat start-up), in our format.

    A receiver of ``setup_logging`` makes Celery skip its own configuration (handlers,
    colours, stdout redirection); its loggers (``celery.app.trace`` "Task … succeeded",
    ``celery.worker``) then simply propagate to the root handler set up here. A worker
    is configured a little earlier too, on ``celeryd_init``, so that its start-up
    warnings (e.g. running as root) are written in the same format.
    """
    from celery import signals  # noqa: PLC0415 - only Celery processes need Celery

    if os.environ.get(ROOT_EXPLAINED):
        from celery.exceptions import SecurityWarning  # noqa: PLC0415

        warnings.filterwarnings("ignore", category=SecurityWarning)
    signals.celeryd_init.connect(_on_celeryd_init, weak=False, dispatch_uid="syndicate-logging")
    signals.setup_logging.connect(
        _on_celery_setup_logging, weak=False, dispatch_uid="syndicate-logging"
    )


def _on_celeryd_init(options: Mapping[str, Any] | None = None, **_: object) -> None:
    options = options or {}
    if not options.get("logfile"):  # a log file name is only final at setup_logging
        _on_celery_setup_logging(loglevel=options.get("loglevel"))


def _on_celery_setup_logging(
    loglevel: int | str | None = None, logfile: str | None = None, **_: object
) -> None:
    from config.settings import Settings  # noqa: PLC0415 - avoid an import cycle

    level = loglevel.upper() if isinstance(loglevel, str) else loglevel
    configure_logging(
        Settings.from_env(),
        process=celery_process_name(),
        level=level or logging.WARNING,  # Celery's default level
        filename=logfile or None,
    )
    _adopt_multiprocessing_logger()


def _adopt_multiprocessing_logger() -> None:
    """billiard's pool logger does not propagate; its warnings would bypass the format."""
    from celery.utils.log import get_multiprocessing_logger  # noqa: PLC0415

    logger = get_multiprocessing_logger()
    if not isinstance(logger, logging.Logger):
        return
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.WARNING)
