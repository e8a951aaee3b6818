"""PostgreSQL for the tests: one server per test session, a fresh database per use.

With no ``DATABASE_URL``, an embedded server (the same one ``syndicate up`` runs) starts
in a short temporary directory the first time a test asks for a database, and stops at
the end of the session. With ``DATABASE_URL`` set, that server is used: each database is
created on it (the URL's user needs CREATEDB) and dropped at the end. Every database gets
the schema from the project's migrations, as ``syndicate db upgrade`` applies it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from worker.database.embedded import EmbeddedPostgres
from worker.database.migrate import upgrade


def database_url_named(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (query, e.g. a socket host, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class ScratchDatabases:
    """Creates databases on one server for the whole test session."""

    def __init__(self) -> None:
        self.given = os.environ.get("DATABASE_URL") or None
        self.directory: Path | None = None
        self.server: EmbeddedPostgres | None = None
        self.created: list[str] = []

    @property
    def admin_url(self) -> str:
        if self.given:
            return self.given
        if self.server is None:
            # Unix socket paths are limited to ~100 bytes; keep the directory short.
            self.directory = Path(f"/tmp/syn-pg-{uuid.uuid4().hex[:8]}")  # noqa: S108
            self.server = EmbeddedPostgres(self.directory).start()
        return self.server.url

    def create(self, prefix: str = "test") -> str:
        """A new, migrated database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = database_url_named(self.admin_url, name)
        upgrade(url)
        return url

    def close(self) -> None:
        if self.given:
            with psycopg.connect(self.given, autocommit=True) as connection:
                for name in self.created:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.server is not None:
            self.server.stop()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
