"""docker-compose.yml run as local processes: each service's own command and environment.

No container engine runs here, so the file's services are started as processes in the
order of their ``depends_on``, with their variables interpolated as Compose does
(``${NAME:-default}``, ``${NAME:?message}``) and these mappings, which a container
network and volumes would otherwise provide:

* ``redis``: its ``command`` runs as is (the ``redis-server`` binary), plus a free port
  and a data directory on 127.0.0.1; ``redis:6379`` in URLs becomes that address;
* ``postgres``: the test session's PostgreSQL server, with the compose file's user and
  password, on a database of this test's own; ``postgres:5432/<db>`` becomes it;
* the ``public`` volume (``/srv/public``) and beat's ``/tmp`` schedule become temporary
  paths; the API's and Flower's ports (``0.0.0.0:8080``, ``5555``) become free ports
  on 127.0.0.1;
* loopback is allowed as a webhook destination (the partner here is on 127.0.0.1);
* with the ``rabbitmq`` profile (the second run, skipped in one line without a
  RabbitMQ), ``CELERY_BROKER_URL=amqp://<its user>:<password>@rabbitmq:5672//`` with
  ``rabbitmq:5672//`` mapped to a vhost of the test's own on the reachable RabbitMQ.

Then one article goes in through the API and comes out in a feed and as a signed
webhook, so the file's commands and variables are proven, not just parsed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
import yaml

from tests.integration.conftest import ROOT, free_port, stop_group, wait_until
from tests.integration.receiver import running_receiver
from tests.postgres import ScratchDatabases
from tests.rabbitmq import private_vhost, queue_types
from worker.embedded_redis import find_redis_server

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
APP_SERVICES = ("worker", "worker-io", "beat", "api", "flower")
TOKEN = "compose-token-" + uuid.uuid4().hex


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name, "")
        if value:
            return value
        if operator == "?":
            raise AssertionError(f"{name} is required: {argument}")
        return argument or ""

    return VARIABLE.sub(one, text)


def service_environment(service: dict[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    return {
        key: interpolate(str(value), variables) for key, value in service["environment"].items()
    }


def _port_reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ComposeRun:
    """The compose file's services as local processes, with the mappings above."""

    def __init__(self, directory: Path, database_admin_url: str) -> None:
        self.directory = directory
        self.admin_url = database_admin_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.variables = {"SYNDICATE_API_TOKENS": TOKEN}
        self.redis_port, self.api_port, self.flower_port = free_port(), free_port(), free_port()
        self.public = directory / "public"
        self.database = f"compose_{uuid.uuid4().hex[:10]}"
        self.amqp_address = self.vhost_url = ""
        self.rabbitmq_user: str | None = None  # a user this run created, deleted at the end

    # -- the mapped services -------------------------------------------------------

    def start_redis(self) -> None:
        command = shlex.split(interpolate(COMPOSE["services"]["redis"]["command"], self.variables))
        assert command[0] == "redis-server"
        data = self.directory / "redis"
        data.mkdir()
        argv = [find_redis_server(), *command[1:], "--port", str(self.redis_port),
                "--bind", "127.0.0.1", "--dir", str(data)]  # fmt: skip
        self._spawn("redis", argv, dict(os.environ))
        wait_until(lambda: _port_reachable(self.redis_port), timeout=30)

    def start_postgres(self) -> None:
        """The compose file's role and password, and a database, on the test server."""
        environment = service_environment(COMPOSE["services"]["postgres"], self.variables)
        user, password = environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
            if exists.fetchone() is None:
                connection.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
            connection.execute(f'CREATE DATABASE "{self.database}" OWNER "{user}"')

    def drop_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # -- the application services --------------------------------------------------

    def environment(self, name: str) -> dict[str, str]:
        env = service_environment(COMPOSE["services"][name], self.variables)
        env = {key: self._map_value(value) for key, value in env.items()}
        bin_dir = str(Path(sys.executable).parent)
        return {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "HOME": str(self.directory),
            "PYTHONPATH": str(ROOT), **env,
            "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        }  # fmt: skip

    def use_rabbitmq(self, vhost_url: str) -> None:
        """The ``rabbitmq`` profile: CELERY_BROKER_URL as the file's header suggests, with
        ``rabbitmq:5672//`` mapped to a vhost of the test's own on a reachable RabbitMQ,
        where the service's user (``RABBITMQ_DEFAULT_USER``) may use it."""
        service = COMPOSE["services"]["rabbitmq"]
        assert service["profiles"] == ["rabbitmq"]
        environment = service_environment(service, self.variables)
        user, password = environment["RABBITMQ_DEFAULT_USER"], environment["RABBITMQ_DEFAULT_PASS"]
        self.variables["CELERY_BROKER_URL"] = f"amqp://{user}:{password}@rabbitmq:5672//"
        self.vhost_url = vhost_url
        vhost_parts = urlsplit(vhost_url)
        self.amqp_address = f"{vhost_parts.hostname}:{vhost_parts.port or 5672}{vhost_parts.path}"
        self.rabbitmq_user = ensure_rabbitmq_user(user, password, vhost_parts.path.lstrip("/"))

    def _map_value(self, value: str) -> str:
        if value.startswith("amqp://"):
            return value.replace("rabbitmq:5672//", self.amqp_address)
        value = value.replace("redis:6379", f"127.0.0.1:{self.redis_port}")
        value = value.replace("/srv/public", str(self.public))
        if value.startswith("postgresql://"):
            return self._database_url(value)
        return value

    def _database_url(self, url: str) -> str:
        parts, server = urlsplit(url), urlsplit(self.admin_url)
        assert parts.hostname == "postgres" and parts.port == 5432, url
        userinfo = parts.netloc.rsplit("@", 1)[0]
        host = f"@{server.hostname}:{server.port}" if server.hostname else "@"
        return urlunsplit(parts._replace(netloc=userinfo + host, path=f"/{self.database}",
                                         query=server.query))  # fmt: skip

    def command(self, name: str) -> list[str]:
        argv = shlex.split(interpolate(COMPOSE["services"][name]["command"], self.variables))
        return [self._map_argument(argument) for argument in argv]

    def _map_argument(self, argument: str) -> str:
        ports = {"8080": str(self.api_port), "--port=5555": f"--port={self.flower_port}"}
        mapped = ports.get(argument, argument).replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        schedule = "/tmp/celerybeat-schedule"  # noqa: S108 - the compose file's path, replaced
        return mapped.replace(schedule, str(self.directory / "beat"))

    def run_migrate(self) -> None:
        service = COMPOSE["services"]["migrate"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        result = subprocess.run(
            self.command("migrate"), env=self.environment("migrate"), cwd=ROOT,
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()

    def start(self, name: str) -> None:
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
        self._spawn(name, self.command(name), self.environment(name))

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            stop_group(self.processes[name], timeout=30)


def ensure_rabbitmq_user(user: str, password: str, vhost: str) -> str | None:
    """Give ``user`` the vhost (creating the user if missing); returns it if created."""
    listed = subprocess.run(
        ["rabbitmqctl", "list_users", "-q"], capture_output=True, text=True, check=True,
        timeout=60,
    ).stdout  # fmt: skip
    created = None
    if user not in {line.split("\t")[0] for line in listed.splitlines()}:
        subprocess.run(["rabbitmqctl", "add_user", user, password], check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        created = user
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return created


@pytest.fixture(params=["redis", "rabbitmq"])
def compose(request: pytest.FixtureRequest, databases: ScratchDatabases) -> Iterator[ComposeRun]:
    directory = Path(f"/tmp/syn-compose-{uuid.uuid4().hex[:8]}")  # noqa: S108 - test-only
    directory.mkdir(mode=0o755)
    run = ComposeRun(directory, databases.admin_url)
    with contextlib.ExitStack() as cleanup:
        if request.param == "rabbitmq":
            run.use_rabbitmq(cleanup.enter_context(private_vhost()))
        try:
            yield run
        finally:
            run.stop()
            run.drop_database()
            if run.rabbitmq_user is not None:
                subprocess.run(["rabbitmqctl", "delete_user", run.rabbitmq_user],
                               capture_output=True, timeout=60, check=False)  # fmt: skip
            shutil.rmtree(directory, ignore_errors=True)


def test_the_compose_services_drive_an_article_to_a_feed_and_a_webhook(
    compose: ComposeRun,
) -> None:
    compose.start_redis()
    compose.start_postgres()
    compose.run_migrate()
    for name in APP_SERVICES:
        compose.start(name)
    api = httpx.Client(base_url=f"http://127.0.0.1:{compose.api_port}", timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    with running_receiver() as partner, api:
        wait_until(lambda: answers(f"{api.base_url}/readyz"), timeout=90, interval=0.5)
        created = api.post("/v1/subscriptions", json={"url": partner.url("/partner")},
                           headers=headers)  # fmt: skip
        assert created.status_code == 201, created.text
        title = f"Compose Story {uuid.uuid4().hex[:6]}"
        posted = api.post(
            "/v1/articles", content=f"{title}\nA description.\nPart\nWords.\n".encode(),
            headers={**headers, "Content-Type": "text/plain"},
        )  # fmt: skip
        assert posted.status_code == 202, posted.text
        wait_until(lambda: len(partner.received("/partner")) >= 1, timeout=90, interval=0.2)
        wait_until(lambda: title in api.get("/feeds/atom.xml").text, timeout=60, interval=0.5)
        assert answers(f"http://127.0.0.1:{compose.flower_port}/")
    delivered = partner.received("/partner")[0]
    assert delivered.headers["webhook-signature"].startswith("v1,")
    assert posted.json()["id"].encode() in delivered.body
    assert all(process.poll() is None for process in compose.processes.values())
    assert title in (compose.public / "feeds" / "atom.xml").read_text()  # the shared volume
    if compose.vhost_url:  # the tasks went through RabbitMQ's quorum queues
        types = queue_types(compose.vhost_url)
        assert [types[q] for q in ("ingest", "publish", "deliver")] == ["quorum"] * 3
