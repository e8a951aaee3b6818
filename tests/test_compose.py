"""docker-compose.yml describes the deployment the docs promise (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_services_migrations_and_redis_durability() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres", "migrate", "redis", "rabbitmq", "worker", "worker-io", "beat", "api", "flower",
    }  # fmt: skip
    redis_command = services["redis"]["command"]
    for flag in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction"):
        assert flag in redis_command
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert "-Q ingest,publish -P prefork" in services["worker"]["command"]
    assert "-Q deliver -P threads" in services["worker-io"]["command"]
    for name in ("worker", "worker-io", "beat", "api", "flower"):
        environment = services[name]["environment"]
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["DATABASE_URL"] == services["migrate"]["environment"]["DATABASE_URL"]
        assert "SYNDICATE_API_TOKENS" in environment
        # Nothing starts before the schema is migrated.
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["command"] == "syndicate db upgrade"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "postgres-data:/var/lib/postgresql" in services["postgres"]["volumes"]
    # Scaling must not need edits: no fixed container names or host ports on workers.
    for name in ("worker", "worker-io"):
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
