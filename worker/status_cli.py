"""``syndicate status``: print :mod:`worker.status` once, as JSON, or every N seconds."""

from __future__ import annotations

import json
import time

import click
import redis

from config.settings import Settings
from worker.broker_queues import BROKER_TROUBLE
from worker.cli_common import require_redis
from worker.connection import redis_client
from worker.database.connect import DATABASE_TROUBLE, Database
from worker.database.migrate import SchemaError, check_schema
from worker.status import gather, render
from worker.store import Store


def run_status(settings: Settings, *, as_json: bool, watch: float | None) -> int:
    """Exit code 0 when no problem is found, 1 when there are problems, 2 without Redis."""
    require_redis(settings)
    client = redis_client(settings, socket_timeout=5)
    store = Store(Database.from_settings(settings, max_size=1, timeout=5), client)
    try:
        check_schema(settings)
    except SchemaError as error:
        click.echo(f"syndicate: error: {error}", err=True)
        return 2
    while True:
        try:
            status = gather(client, store, broker=settings.broker_url)
        except BROKER_TROUBLE as error:
            click.echo(f"syndicate: error: cannot ask the broker: {error}", err=True)
            return 2
        except redis.RedisError as error:
            click.echo(f"syndicate: error: cannot read Redis: {error}", err=True)
            return 2
        except DATABASE_TROUBLE as error:
            click.echo(f"syndicate: error: cannot read PostgreSQL: {error}", err=True)
            return 2
        if as_json:
            click.echo(json.dumps(status, indent=None if watch else 2))
        else:
            if watch:
                click.clear()
            click.echo(render(status))
        if not watch:
            return 1 if status["problems"] else 0
        time.sleep(watch)
