"""``syndicate status``: print :mod:`worker.status` once, as JSON, or every N seconds."""

from __future__ import annotations

import json
import time

import click
import redis

from config.settings import Settings
from worker.connection import embedded_for, redis_client
from worker.status import gather, render


def run_status(settings: Settings, *, as_json: bool, watch: float | None) -> int:
    """Exit code 0 when no problem is found, 1 when there are problems, 2 without Redis."""
    embedded = embedded_for(settings)
    if embedded is not None and not embedded.ping():
        click.echo(
            f"syndicate: error: no Redis answers at {embedded.socket_path}; "
            "start `syndicate up` first, or set REDIS_URL",
            err=True,
        )
        return 2
    client = redis_client(settings, socket_timeout=5)
    while True:
        try:
            status = gather(client)
        except redis.RedisError as error:
            click.echo(f"syndicate: error: cannot read Redis: {error}", err=True)
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
