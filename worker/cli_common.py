"""What the ``syndicate`` commands that talk to the stores share: errors are one line on
stderr with exit code 2, the embedded servers must answer before anything else is tried,
``--since``
takes a time or a duration ago, and ``--json`` prints indented JSON.

Light on purpose (no Redis, no Celery at import time): :mod:`worker.cli` imports the
command groups that use it even for ``syndicate parse``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import NoReturn

import click

from config.settings import ConfigError, Settings
from worker.core.durations import parse_duration


def fail(message: str) -> NoReturn:
    click.echo(f"syndicate: error: {message}", err=True)
    sys.exit(2)


def require_redis(settings: Settings) -> None:
    """Fail unless the embedded PostgreSQL and Redis answer (servers given by
    ``DATABASE_URL`` / ``REDIS_URL`` are not checked here)."""
    from worker.connection import embedded_for  # noqa: PLC0415 - imports redis
    from worker.database.connect import embedded_database_for  # noqa: PLC0415

    database = embedded_database_for(settings)
    if database is not None and not database.ping(database="syndicate"):
        fail(
            f"no PostgreSQL answers at {database.root}; "
            "start `syndicate up` first, or set DATABASE_URL"
        )
    embedded = embedded_for(settings)
    if embedded is not None and not embedded.ping():
        fail(
            f"no Redis answers at {embedded.socket_path}; "
            "start `syndicate up` first, or set REDIS_URL"
        )


def connected_settings() -> Settings:
    """The settings from the environment, once Redis answers; else fail."""
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        fail(str(error))
    require_redis(settings)
    return settings


def since_time(text: str) -> float:
    """``--since``: an RFC 3339 time, or a duration ago ("2h")."""
    try:
        return datetime.now(UTC).timestamp() - parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since: {text!r} is neither a time (2026-01-31T12:00:00Z) nor a duration (2h)")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
