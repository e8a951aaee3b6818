"""The pure core imports no queue, store, HTTP or clock-driven machinery."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("celery", "kombu", "redis", "requests", "urllib3", "fastapi", "starlette", "uvicorn")


def test_the_core_imports_nothing_from_the_edges() -> None:
    probe = (
        "import json, sys, pkgutil, importlib, worker.core\n"
        "for info in pkgutil.walk_packages(worker.core.__path__, 'worker.core.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = json.loads(completed.stdout)
    offenders = [name for name in loaded if name.split(".")[0] in FORBIDDEN]
    assert offenders == []
