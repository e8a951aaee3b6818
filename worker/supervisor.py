"""``syndicate up``: embedded Redis, Celery workers, beat and the HTTP server in one tree.

Each child runs in its own session, so Ctrl-C reaches only the supervisor, which then
sends each child exactly one SIGTERM (a Celery worker's warm shutdown: running tasks
finish, unstarted ones stay queued). Children also get SIGTERM from the kernel if the
supervisor itself dies (``PR_SET_PDEATHSIG``), so nothing is orphaned. A child that
exits on its own is restarted after a backoff that grows with quick repeated deaths.
Redis is stopped last, after every child is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from worker.backoff import compute_backoff

log = logging.getLogger("syndicate.up")

_PR_SET_PDEATHSIG = 1
_STABLE_AFTER = 60.0
_GRACE = 30.0


@dataclass(slots=True)
class Child:
    """A supervised process."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_deaths: int = 0
    restart_at: float | None = None
    history: list[int] = field(default_factory=list)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Supervisor:
    """Starts children, restarts the ones that die, stops them all on a signal."""

    def __init__(
        self,
        children: Sequence[Child],
        env: dict[str, str],
        on_started: Callable[[Sequence[Child]], None] | None = None,
    ) -> None:
        self.children = list(children)
        self.env = env
        self.stopping = False
        self.on_started = on_started

    def run(self) -> int:
        """Run until SIGINT/SIGTERM; returns the exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                self._start(child)
            if self.on_started is not None:
                self.on_started(self.children)
            while not self.stopping:
                self._tend()
                time.sleep(0.2)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("received %s; stopping (warm shutdown)", signal.Signals(signum).name)
        self.stopping = True

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - argv built by syndicate itself
            child.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        # The first start is in the start-up summary; a restart is news.
        level = logging.INFO if child.restarts else logging.DEBUG
        log.log(level, "started %s (pid %d)", child.name, child.process.pid)

    def _tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                self._schedule_restart(child, now)
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        child.history.append(code)
        child.process = None
        lived = now - child.started_at
        child.quick_deaths = 0 if lived > _STABLE_AFTER else child.quick_deaths + 1
        delay = compute_backoff(child.quick_deaths - 1, base=1.0, cap=30.0)
        child.restart_at = now + delay
        log.warning(
            "%s exited with code %s after %.1fs; restarting in %.0fs",
            child.name,
            code,
            lived,
            delay,
        )

    def _stop_all(self) -> None:
        running = [
            child for child in self.children if child.process and child.process.poll() is None
        ]
        for child in running:
            assert child.process is not None
            log.info("stopping %s (pid %d)", child.name, child.process.pid)
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _GRACE
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", child.name, _GRACE)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)  # the pool processes too
                child.process.wait()
        log.info("all children stopped")


def celery_command(*arguments: str) -> list[str]:
    """argv for the Celery CLI with syndicate's app, without its start-up banner."""
    return [sys.executable, "-m", "celery", "-A", "config.celery_app", "--quiet", *arguments]


def standard_children(
    *,
    host: str,
    port: int,
    concurrency: int,
    io_threads: int,
    queues: Sequence[str],
    data_dir: str,
    beat: bool = True,
) -> list[Child]:
    """The processes of a one-machine deployment."""
    from config.celery_app import CPU_QUEUES, IO_QUEUES  # noqa: PLC0415 - avoid import cycle

    children: list[Child] = []
    cpu = [queue for queue in queues if queue in CPU_QUEUES]
    io = [queue for queue in queues if queue in IO_QUEUES]
    if cpu:
        children.append(Child("worker-cpu", celery_command(
            "worker", "-Q", ",".join(cpu), "-P", "prefork", "-c", str(concurrency),
            "-n", f"cpu-{os.getpid()}@%h", "--loglevel", "INFO",
        )))  # fmt: skip
    if io:
        children.append(Child("worker-io", celery_command(
            "worker", "-Q", ",".join(io), "-P", "threads", "-c", str(io_threads),
            "-n", f"io-{os.getpid()}@%h", "--loglevel", "INFO",
        )))  # fmt: skip
    if beat:
        schedule = os.path.join(data_dir, "celerybeat-schedule")
        children.append(Child("beat", celery_command("beat", "-s", schedule, "--loglevel", "INFO")))
    children.append(Child("api", [
        sys.executable, "-m", "uvicorn", "--factory", "feeds.api:build_app",
        "--host", host, "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]))  # fmt: skip
    return children
