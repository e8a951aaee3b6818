"""``syndicate subscriptions`` and ``syndicate deliveries`` against a live system."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.integration.conftest import ROOT, RedisService, auth, service_env, wait_until
from tests.integration.receiver import running_receiver

pytestmark = pytest.mark.usefixtures("worker", "io_worker", "beat")


def syndicate(redis_service: RedisService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from worker.cli import main; main()", *args],
        env=service_env(redis_service), cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_subscribe_test_list_show_and_delete_from_the_shell(
    redis_service: RedisService, api: httpx.Client
) -> None:
    tag = "cli" + uuid.uuid4().hex[:8]
    with running_receiver() as receiver:
        url = receiver.url("/cli")
        created = syndicate(redis_service, "subscriptions", "create", url, "--tag", tag, "--json")
        assert created.returncode == 0, created.stderr
        endpoint = json.loads(created.stdout)
        assert endpoint["secret"].startswith("whsec_") and endpoint["tags"] == [tag]

        listed = syndicate(redis_service, "subscriptions", "list")
        assert endpoint["id"] in listed.stdout and endpoint["secret"] not in listed.stdout

        sent = syndicate(redis_service, "subscriptions", "test", endpoint["id"])
        assert sent.returncode == 0, sent.stderr
        message_id = sent.stdout.split()[0]
        wait_until(lambda: len(receiver.received("/cli")) == 1)
        assert receiver.received("/cli")[0].headers["webhook-id"] == message_id

        def delivered() -> bool:
            shown = syndicate(redis_service, "deliveries", "show", message_id, "--json")
            return json.loads(shown.stdout)["status"] == "delivered"

        wait_until(delivered, timeout=20, interval=0.3)
        table = syndicate(redis_service, "deliveries", "list", "--endpoint", endpoint["id"])
        assert message_id in table.stdout and "delivered" in table.stdout
        shown = syndicate(redis_service, "deliveries", "show", message_id)
        assert "#1" in shown.stdout and "204" in shown.stdout

        again = syndicate(redis_service, "deliveries", "replay", message_id)
        assert again.returncode == 2 and "force" in again.stderr
        rotated = syndicate(redis_service, "subscriptions", "rotate-secret", endpoint["id"])
        assert "whsec_" in rotated.stdout

        assert syndicate(redis_service, "subscriptions", "delete", endpoint["id"]).returncode == 0
        missing = syndicate(redis_service, "subscriptions", "show", endpoint["id"])
        assert missing.returncode == 2 and "no webhook endpoint" in missing.stderr
        assert api.get(f"/v1/subscriptions/{endpoint['id']}", headers=auth()).status_code == 404


def test_a_refused_url_is_one_line_and_exit_2(redis_service: RedisService) -> None:
    refused = syndicate(redis_service, "subscriptions", "create", "http://192.168.1.1/hook")
    assert refused.returncode == 2
    assert refused.stderr.startswith("syndicate: error: url:")
    assert "Traceback" not in refused.stderr
