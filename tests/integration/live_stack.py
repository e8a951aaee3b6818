"""A live ``syndicate up`` of its own (embedded Redis, the given PostgreSQL database) and
Debian's Chromium driven by Playwright: for the browser tests and the screenshots.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NO_BROWSER = (
    "no browser: the page tests need Debian's Chromium (apt-get install chromium) "
    "and the playwright package (pip install -e '.[dev]')"
)
CPU_WORKER = "worker -Q ingest,publish"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return NO_BROWSER
    return None if CHROMIUM.exists() else NO_BROWSER


class LiveStack:
    """``syndicate up`` on a free port, with an API token and webhook delivery in seconds."""

    def __init__(self, database_url: str | None, port: int, **extra: str) -> None:
        """``database_url`` None: the stack's own embedded PostgreSQL under its data dir."""
        self.data_dir = Path(f"/tmp/syn-pages-{uuid.uuid4().hex[:8]}")  # noqa: S108 - socket path
        self.token = "pages-" + uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{port}"
        self.env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        self.env.pop("DATABASE_URL", None)
        self.env |= {
            "SYNDICATE_DATA_DIR": str(self.data_dir),
            "SYNDICATE_API_TOKENS": self.token,
            "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            "SYNDICATE_WEBHOOK_RETRY_SCHEDULE": "0,1s",
            "SYNDICATE_WEBHOOK_CONNECT_TIMEOUT": "1s",
            "SYNDICATE_WEBHOOK_TIMEOUT": "1.5s",
            "SYNDICATE_DELIVERY_TICK": "0.5s",
            "SYNDICATE_PUBLISH_DELAY_MS": "200",
            "SYNDICATE_SITE_URL": self.base,
            "PYTHONPATH": str(ROOT),
            **extra,
        }
        if database_url is not None:
            self.env["DATABASE_URL"] = database_url
        self.log_path = self.data_dir.with_suffix(".log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from worker.cli import main; main()", "up",
                 "--port", str(port), "-c", "1", "--io-threads", "4"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.api = httpx.Client(base_url=self.base, timeout=10)
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.api.get("/readyz").status_code == 200 and self.cpu_worker() is not None:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"syndicate up did not start; see {self.log_path}")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cpu_worker(self) -> psutil.Process | None:
        for child in psutil.Process(self.process.pid).children():
            try:
                if CPU_WORKER in " ".join(child.cmdline()):
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    @contextmanager
    def cpu_worker_paused(self) -> Iterator[None]:
        """The ingest worker and its pool stopped (SIGSTOP), so its queue only grows."""
        worker = self.cpu_worker()
        assert worker is not None
        family = [worker, *worker.children(recursive=True)]
        for process in family:
            process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in family:
                process.send_signal(signal.SIGCONT)

    def subscribe(self, url: str, **fields: Any) -> dict[str, Any]:
        made = self.api.post("/v1/subscriptions", json={"url": url, **fields}, headers=self.auth())
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    def portal_link(self, endpoint_id: str, ttl: str = "1h") -> str:
        made = self.api.post(f"/v1/subscriptions/{endpoint_id}/portal-link",
                             json={"ttl": ttl}, headers=self.auth())  # fmt: skip
        assert made.status_code == 200, made.text
        return str(made.json()["url"])

    def submit(self, title: str, tag: str = "pages") -> str:
        body = f"{title}\nA description of {title}.\nTags: {tag}\nPart\nIt arrives.\n"
        made = self.api.post("/v1/articles", content=body.encode(),
                             headers={**self.auth(), "Content-Type": "text/plain"})  # fmt: skip
        assert made.status_code == 202, made.text
        return str(made.json()["id"])

    def stop(self) -> None:
        self.api.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (no browser download), headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()
