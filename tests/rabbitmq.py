"""RabbitMQ for tests: a private vhost on a reachable server, or a private node.

The server is ``SYNDICATE_TEST_RABBITMQ`` (default ``amqp://guest:guest@127.0.0.1:5672``).
Each test gets a vhost of its own (created and deleted with ``rabbitmqctl``), so queues
never leak between runs and the server's other users are not touched. A test that must
restart RabbitMQ starts a node of its own (``rabbitmq-server`` on another port, data
under a temporary directory) rather than restarting a server others use.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SERVER = os.environ.get("SYNDICATE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _rabbitmqctl(*arguments: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        ["rabbitmqctl", *arguments], check=True, capture_output=True, timeout=60, env=env
    )


@functools.cache
def unusable() -> str | None:
    """Why this run cannot use RabbitMQ (not reachable, no ``rabbitmqctl`` to make
    vhosts), or None when it can."""
    parts = urlsplit(SERVER)
    if not _reachable(parts.hostname or "127.0.0.1", parts.port or 5672):
        return f"RabbitMQ not reachable at {parts.hostname}:{parts.port or 5672}"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl not found: cannot create a private vhost"
    return None


def require_rabbitmq() -> None:
    """Skip unless RabbitMQ answers and ``rabbitmqctl`` can make vhosts."""
    reason = unusable()
    if reason:
        pytest.skip(reason)


@contextmanager
def private_vhost() -> Iterator[str]:
    """The broker URL of a fresh vhost on the test server, deleted afterwards."""
    require_rabbitmq()
    name = f"syndicate-test-{uuid.uuid4().hex[:10]}"
    user = urlsplit(SERVER).username or "guest"
    try:
        _rabbitmqctl("add_vhost", name)
        _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"cannot create a RabbitMQ vhost: {error}")
    try:
        yield f"{SERVER.rstrip('/')}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


def queue_types(url: str) -> dict[str, str]:
    """``{queue: type}`` of a vhost (``quorum``, ``classic``) as RabbitMQ reports them."""
    vhost = urlsplit(url).path.lstrip("/")
    listed = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "-p", vhost, "name", "type"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    rows = [line.split("\t") for line in listed.splitlines() if "\t" in line]
    return {row[0]: row[1] for row in rows if row[0] != "name"}


class PrivateNode:
    """A RabbitMQ node of the test's own (its port, its data), that it may kill."""

    def __init__(self, directory: Path, port: int, dist_port: int) -> None:
        self.directory, self.port, self.dist_port = directory, port, dist_port
        self.name = f"syntest{uuid.uuid4().hex[:6]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "enabled_plugins").write_text("[].\n")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        base = self.directory
        return {
            **os.environ,
            "HOME": str(base),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),  # Erlang distribution
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "none"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
        }

    def start(self, timeout: float = 120.0) -> None:
        with open(self.directory / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER], env=self._env(), cwd=self.directory,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"the private RabbitMQ node did not start ({self.directory})")
            time.sleep(0.25)

    def kill(self) -> None:
        """SIGKILL the whole node (Erlang VM included), like a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None
        deadline = time.monotonic() + 30
        while _reachable("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


def private_node_available() -> bool:
    return os.path.exists(RABBITMQ_SERVER) and os.access(RABBITMQ_SERVER, os.X_OK)
