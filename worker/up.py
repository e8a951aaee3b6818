"""The body of ``syndicate up``: start PostgreSQL and Redis if needed, then supervise
everything."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from config.logging import ROOT_EXPLAINED, configure_logging
from config.settings import Settings
from worker.connection import celery_broker_url, embedded_for, is_amqp, redis_url
from worker.database.connect import database_url, embedded_database_for, redacted
from worker.database.migrate import check_schema, upgrade
from worker.supervisor import Child, Supervisor, standard_children

log = logging.getLogger("syndicate.up")


def api_tokens(settings: Settings) -> tuple[str, ...]:
    """The configured tokens, or a generated development token kept in the data directory."""
    if settings.api_tokens:
        return settings.api_tokens
    path = settings.data_dir / "api-token"
    if path.exists():
        return (path.read_text().strip(),)
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return (token,)


def run_up(
    settings: Settings,
    *,
    host: str,
    port: int,
    concurrency: int,
    io_threads: int,
    queues: list[str],
    beat: bool,
    ingest_paths: list[str],
) -> int:
    """Run the whole service in the foreground until SIGINT/SIGTERM."""
    configure_logging(settings, process="up")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = embedded_for(settings)
    embedded_db = embedded_database_for(settings)
    if embedded_db is not None:
        embedded_db.start()
        # The embedded server is ours: bring its schema up to date. A server given by
        # DATABASE_URL is migrated by its operator (`syndicate db upgrade`).
        for migration in upgrade(database_url(settings)):
            log.info("applied migration %04d_%s", migration.version, migration.name)
    if embedded is not None:
        embedded.start()
    try:
        check_schema(settings)
        tokens = api_tokens(settings)
        env = {
            **os.environ,
            "DATABASE_URL": database_url(settings),
            "REDIS_URL": redis_url(settings),
            "SYNDICATE_API_TOKENS": ",".join(tokens),
        }
        env["SYNDICATE_DATA_DIR"] = str(settings.data_dir.resolve())
        # Feed self links and the hub URL must name the address actually served.
        env.setdefault("SYNDICATE_SITE_URL", f"http://{host}:{port}")
        children = standard_children(
            host=host, port=port, concurrency=concurrency, io_threads=io_threads,
            queues=queues, data_dir=str(settings.data_dir.resolve()), beat=beat,
        )  # fmt: skip
        _explain_root(env)
        if ingest_paths:
            threading.Thread(
                target=_ingest_when_ready, args=(settings, env, ingest_paths), daemon=True
            ).start()
        summary = functools.partial(_summary, settings, host, port)
        return Supervisor(children, env, on_started=summary).run()
    finally:
        if embedded is not None:
            embedded.stop()
        if embedded_db is not None:
            embedded_db.stop()


def _summary(settings: Settings, host: str, port: int, children: Sequence[Child]) -> None:
    """One start-up record: where everything is (Celery's banners are switched off)."""
    base = f"http://{host}:{port}"
    token_note = (
        "from SYNDICATE_API_TOKENS" if settings.api_tokens
        else f"development token in {settings.data_dir / 'api-token'}"
    )  # fmt: skip
    processes = ", ".join(
        f"{child.name} (pid {child.process.pid})" for child in children if child.process
    )
    embedded = " (embedded)"
    log.info(
        "syndicate is up\n  API:        %s/v1/articles  docs %s/docs  OpenAPI %s/openapi.json"
        "\n  feeds:      %s/feeds/\n  API token:  %s\n  PostgreSQL: %s%s\n  Redis:      %s%s"
        "\n  broker:     %s\n  processes:  %s",
        base, base, base, base, token_note,
        redacted(database_url(settings)), "" if settings.database_url else embedded,
        redis_url(settings), "" if settings.redis_url else embedded,
        _broker_note(settings), processes,
    )  # fmt: skip


def _broker_note(settings: Settings) -> str:
    url = celery_broker_url(settings)
    if is_amqp(url):
        return f"RabbitMQ {redacted(url)} (quorum queues)"
    return "the Redis above"


def _explain_root(env: dict[str, str]) -> None:
    """Say once why running as root is discouraged, and keep every worker from repeating it."""
    if os.geteuid() != 0:
        return
    log.warning(
        "running as root: Celery discourages it because a worker that accepted pickled "
        "messages could be made to run code as root. syndicate's workers accept JSON only, "
        "so this is a warning, not a hole; still, run syndicate as an ordinary user (the "
        "Docker image does). Celery's own copy of this warning is silenced in each worker."
    )
    env[ROOT_EXPLAINED] = "1"


def _ingest_when_ready(settings: Settings, env: dict[str, str], paths: list[str]) -> None:
    from worker.ingest_cli import submit_paths  # noqa: PLC0415

    time.sleep(1.0)
    child_settings = Settings.from_env(env)
    try:
        submit_paths(child_settings, [Path(path) for path in paths], format_=None)
    except Exception:
        log.exception("could not submit the example articles")
