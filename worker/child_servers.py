"""What the embedded servers (Redis, PostgreSQL) share: one start at a time per data
directory, and stopping a child server politely, then for good."""

from __future__ import annotations

import fcntl
import logging
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def start_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``: concurrent starts for one directory take turns."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stop_child(
    process: subprocess.Popen[bytes] | None, *, name: str, how: signal.Signals, timeout: float
) -> bool:
    """Send ``how`` to a running child, wait up to ``timeout``, then SIGKILL it; False if
    there was nothing running to stop."""
    if process is None or process.poll() is not None:
        return False
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop in %ss; killing it", name, timeout)
        process.kill()
        process.wait()
    return True
