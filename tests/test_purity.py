"""The pure core imports no queue, store, HTTP or clock-driven machinery."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("celery", "kombu", "redis", "requests", "urllib3", "fastapi", "starlette", "uvicorn")

#: Pure modules outside ``worker.core``: the webhook signing, bodies and policy, the
#: portal's tokens and charts.
PURE_MODULES = (
    "feeds.webhooks.signing",
    "feeds.webhooks.payload",
    "feeds.webhooks.policy",
    "worker.core.durations",
    "feeds.pages.tokens",
    "feeds.pages.charts",
)


def loaded_modules(probe: str) -> list[str]:
    """The modules loaded by a fresh interpreter running ``probe``."""
    completed = subprocess.run(
        [sys.executable, "-c", probe + "print(json.dumps(sorted(sys.modules)))\n"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(completed.stdout)
    return loaded


def offenders(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name.split(".")[0] in FORBIDDEN]


def test_the_core_imports_nothing_from_the_edges() -> None:
    probe = (
        "import json, sys, pkgutil, importlib, worker.core\n"
        "for info in pkgutil.walk_packages(worker.core.__path__, 'worker.core.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    assert offenders(loaded_modules(probe)) == []


def test_the_webhook_core_imports_nothing_from_the_edges() -> None:
    probe = "import json, sys, importlib\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in PURE_MODULES
    )
    loaded = loaded_modules(probe)
    assert set(PURE_MODULES) <= set(loaded)
    assert offenders(loaded) == []
