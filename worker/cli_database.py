"""``syndicate db``: the schema of the PostgreSQL record (upgrade, status)."""

from __future__ import annotations

import sys

import click
import psycopg

from config.settings import Settings
from worker.database.connect import database_url, embedded_database_for, redacted
from worker.database.migrate import applied, migrations, upgrade


@click.group(name="db")
def database() -> None:
    """The PostgreSQL schema: apply migrations, show which are applied."""


@database.command(name="upgrade")
def upgrade_command() -> None:
    """Apply every pending migration (starts the embedded server if no DATABASE_URL)."""
    settings = Settings.from_env()
    embedded = embedded_database_for(settings)
    if embedded is not None:
        embedded.start()
    try:
        url = database_url(settings)
        done = upgrade(url)
        for migration in done:
            click.echo(f"applied {migration.version:04d}_{migration.name}")
        click.echo(f"{redacted(url)}: schema up to date ({len(migrations())} migrations)")
    finally:
        if embedded is not None:
            embedded.stop()


@database.command(name="status")
def status_command() -> None:
    """List the migrations and whether each is applied; exit 1 if any is pending."""
    settings = Settings.from_env()
    embedded = embedded_database_for(settings)
    if embedded is not None:
        embedded.start()
    try:
        with psycopg.connect(database_url(settings)) as connection:
            done = applied(connection)
    finally:
        if embedded is not None:
            embedded.stop()
    for migration in migrations():
        state = "applied" if migration.version in done else "pending"
        click.echo(f"{migration.version:04d}_{migration.name}\t{state}")
    sys.exit(0 if all(m.version in done for m in migrations()) else 1)
