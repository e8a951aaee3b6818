"""Schema migrations: numbered SQL files applied in order by a small runner.

The schema is plain SQL in ``worker/database/migrations/NNNN_name.sql``: what a DBA
reads with psql is what runs, and the project needs no ORM to migrate (its queries are
SQL through psycopg). Each file runs in one transaction, under an advisory lock so that
two processes upgrading at once apply each file once; ``schema_migrations`` records the
version, name, a checksum of the file and when it was applied. An applied file whose
checksum no longer matches is reported: migrations are append-only.

``syndicate db upgrade`` applies what is pending; ``syndicate up`` does it for the
embedded server; the other processes refuse to start on an out-of-date schema with one
line naming the command to run (:func:`require_current`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from config.settings import Settings
from worker.core.errors import SyndicateError

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
# Any constant works: it only has to be the same for every syndicate process.
_LOCK_ID = 0x5E4D1CA7


class SchemaError(SyndicateError):
    """The database schema is missing, behind, or was changed by hand."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    """Every migration the package ships, oldest first."""
    found = []
    for entry in resources.files("worker.database").joinpath("migrations").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def applied(connection: psycopg.Connection[tuple[object, ...]]) -> dict[int, str]:
    """Version -> checksum of the migrations applied to this database."""
    exists = connection.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return {}
    rows = connection.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(str(version)): str(checksum) for version, checksum in rows}


def pending(connection: psycopg.Connection[tuple[object, ...]]) -> list[Migration]:
    """Migrations not yet applied; raises SchemaError if an applied one was edited."""
    done = applied(connection)
    for migration in migrations():
        if migration.version in done and done[migration.version] != migration.checksum:
            raise SchemaError(
                f"migration {migration.version:04d}_{migration.name} was changed after it "
                "was applied; migrations are append-only: add a new one"
            )
    return [migration for migration in migrations() if migration.version not in done]


def upgrade(url: str) -> list[Migration]:
    """Apply every pending migration (each in its own transaction); returns those applied."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            connection.execute(_BOOKKEEPING)
            todo = pending(connection)
            for migration in todo:
                with connection.transaction():
                    connection.execute(migration.sql.encode())
                    connection.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            return todo
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


def check_schema(settings: Settings) -> None:
    """Raise SchemaError (one line naming the command) unless the schema is current."""
    from worker.database.connect import database_url  # noqa: PLC0415 - import cycle

    try:
        with psycopg.connect(database_url(settings), connect_timeout=10) as connection:
            require_current(connection)
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        raise SchemaError(f"PostgreSQL is unreachable: {first_line}") from None


def require_current(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    """Raise SchemaError with the command to run when migrations are pending."""
    todo = pending(connection)
    if todo:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in todo)
        raise SchemaError(
            f"the database schema is out of date ({names} not applied): run `syndicate db upgrade`"
        )


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
