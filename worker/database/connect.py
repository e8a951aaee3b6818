"""Where PostgreSQL is, and a connection pool per process.

``DATABASE_URL`` if set, else the embedded server under the data directory: one
function gives every process its URL, so the API, the workers and the CLI agree.

:class:`Database` hands out pooled connections (psycopg 3, ``psycopg_pool``). Celery's
prefork workers fork after start-up, and a connection must never cross a fork, so the
pool is created on first use in each process and re-created when the process id
changes.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.array import ListBinaryDumper
from psycopg_pool import ConnectionPool, PoolTimeout

from config.settings import Settings
from worker.database.embedded import EmbeddedPostgres

#: What callers catch to tell "the database is unreachable" from a bug.
DATABASE_TROUBLE: tuple[type[Exception], ...] = (psycopg.OperationalError, PoolTimeout)

Connection = psycopg.Connection[TupleRow]


def embedded_database_for(settings: Settings) -> EmbeddedPostgres | None:
    """The embedded server to use, or ``None`` when ``DATABASE_URL`` is set."""
    return None if settings.database_url else EmbeddedPostgres(settings.data_dir)


def database_url(settings: Settings) -> str:
    """The libpq URL of the configured database."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.data_dir).url


def redacted(url: str) -> str:
    """A database URL fit for a log line: the password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{location}"


def check_if_disturbed(connection: Connection) -> None:
    """The pool's check on checkout: a round trip only when the idle connection's socket
    is readable.

    The server sends nothing unasked to an idle connection, so a readable socket means
    it was closed (a PostgreSQL restart, an idle timeout) or holds a stray message; the
    round trip then raises and the pool replaces the connection, instead of a request
    failing. A quiet socket skips the round trip, which cost one per checkout, several
    per article.
    """
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN | select.POLLHUP | select.POLLERR)
    if poller.poll(0):
        ConnectionPool.check_connection(connection)


def send_lists_in_binary(connection: Connection) -> None:
    """Pass Python lists (arrays: the batch statements' ids, times, statuses) in
    PostgreSQL's binary format. psycopg's default for a list is text, built element by
    element in Python: 24 ms for 1,000 timestamps, against under 1 ms in binary, and
    the webhook engine sends such arrays with every batch of attempts."""
    connection.adapters.register_dumper(list, ListBinaryDumper)


class Database:
    """A lazily created, fork-aware connection pool for one database URL."""

    def __init__(
        self, url: str, *, max_size: int = 8, timeout: float = 5.0, wait_for_flush: bool = True
    ) -> None:
        self.url = url
        self.max_size = max_size
        self.timeout = timeout
        self.wait_for_flush = wait_for_flush
        self._pool: ConnectionPool[Connection] | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Database:
        return cls(database_url(settings), **options)

    def pool(self) -> ConnectionPool[Connection]:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # A pool inherited through fork is abandoned, never closed: closing it
                # would close the parent's sockets.
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.max_size,
                    timeout=self.timeout,
                    kwargs=self._connection_options(),
                    open=True,
                    check=check_if_disturbed,
                    configure=send_lists_in_binary,
                    name=f"syndicate-{os.getpid()}",
                )
                self._pid = os.getpid()
            return self._pool

    def _connection_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"autocommit": True}
        if not self.wait_for_flush:
            # See Store.for_workers: a commit returns before its WAL reaches the disk.
            options["options"] = "-c synchronous_commit=off"
        return options

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection in autocommit mode; use ``conn.transaction()`` for more."""
        with self.pool().connection() as connection:
            yield connection

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None
