"""The processes of ``bench/webhook_fanout.py``: started, stopped, and their CPU time."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
POLL = 0.02
MACHINE = "machine"


@dataclass
class Processes:
    """Children started by the bench, each in its own process group."""

    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)  # other processes to account for
    parents: dict[str, int] = field(default_factory=dict)  # ... with their children

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as log:
            self.running[name] = subprocess.Popen(
                argv, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def check(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {self.logs}")

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # pool children left behind, if any

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each child's process group and by ``pids`` (Linux)."""
        # worker-io-16-0 and worker-io-16-1 count as worker-io
        groups = {p.pid: re.sub(r"(-\d+)+$", "", name) for name, p in self.running.items()}
        used = dict.fromkeys((*groups.values(), *self.pids, *self.parents), 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            pid, parent, group, seconds = _proc_cpu(stat)
            if group in groups:
                used[groups[group]] += seconds
            for name, wanted in self.pids.items():
                if pid == wanted:
                    used[name] += seconds
            for name, wanted in self.parents.items():
                if wanted in (pid, parent):
                    used[name] += seconds
        # Every process's: user nice system idle iowait irq softirq steal ...
        ticks = [int(item) for item in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        used[MACHINE] = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        return used


def _proc_cpu(stat: Path) -> tuple[int, int, int, float]:
    """(pid, parent pid, process group, user + system CPU seconds) from ``/proc/<pid>/stat``."""
    try:
        fields = stat.read_text().rpartition(")")[2].split()
    except OSError:
        return 0, 0, 0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = (int(fields[11]) + int(fields[12])) / ticks
    return int(stat.parent.name), int(fields[1]), int(fields[2]), seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, procs: Processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; logs in {procs.logs}")
        procs.check()
        time.sleep(POLL)
