"""rate_limit and ordering through the real HTTP API and the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.integration.conftest import ROOT, RedisService, auth, service_env
from tests.integration.receiver import running_receiver


def test_the_api_sets_shows_clears_and_checks_rate_limit_and_ordering(api: httpx.Client) -> None:
    with running_receiver() as receiver:
        url = receiver.url("/paced-api")
        created = api.post("/v1/subscriptions", headers=auth(),
                           json={"url": url, "rate_limit": 20, "ordering": "fifo"})  # fmt: skip
        assert created.status_code == 201, created.text
        endpoint = created.json()
        assert (endpoint["rate_limit"], endpoint["ordering"]) == (20, "fifo")
        path = f"/v1/subscriptions/{endpoint['id']}"
        changed = api.patch(path, headers=auth(), json={"rate_limit": None, "ordering": "none"})
        assert changed.status_code == 200, changed.text
        shown = api.get(path, headers=auth()).json()
        assert (shown["rate_limit"], shown["ordering"]) == (None, "none")
        for bad in ({"rate_limit": -5}, {"rate_limit": "fast"}, {"ordering": "lifo"}):
            refused = api.patch(path, headers=auth(), json=bad)
            assert refused.status_code == 422, refused.text
            assert "Traceback" not in refused.text
        api.delete(path, headers=auth())


def test_the_cli_sets_rate_limit_and_ordering(redis_service: RedisService) -> None:
    def syndicate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from worker.cli import main; main()", *args],
            env=service_env(redis_service), cwd=ROOT, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip

    with running_receiver() as receiver:
        created = syndicate("subscriptions", "create", receiver.url("/paced-cli"),
                            "--rate-limit", "3", "--ordering", "fifo", "--json")  # fmt: skip
        assert created.returncode == 0, created.stderr
        endpoint = json.loads(created.stdout)
        assert (endpoint["rate_limit"], endpoint["ordering"]) == (3, "fifo")
        updated = syndicate("subscriptions", "update", endpoint["id"], "--rate-limit", "0")
        assert updated.returncode == 0, updated.stderr
        shown = json.loads(syndicate("subscriptions", "show", endpoint["id"], "--json").stdout)
        assert (shown["rate_limit"], shown["ordering"]) == (None, "fifo")
        refused = syndicate("subscriptions", "update", endpoint["id"], "--ordering", "lifo")
        assert refused.returncode != 0
        assert syndicate("subscriptions", "delete", endpoint["id"]).returncode == 0
