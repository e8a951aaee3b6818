"""Shared fixtures: paths to the example and fixture articles, and the shared sample."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import ScratchDatabases
from tests.rabbitmq import private_vhost

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"
SAMPLE = SHARED / "samples" / "red-rocket-2021-ending-explained.txt"


@pytest.fixture
def sample_bytes() -> bytes:
    """The shared sample article (read from ../shared, never copied into the project)."""
    if not SAMPLE.exists():
        pytest.skip(f"the shared sample is not beside the checkout ({SAMPLE})")
    return SAMPLE.read_bytes()


@pytest.fixture
def example_bytes() -> bytes:
    """The bundled example article."""
    return (EXAMPLES / "everwinter-2019-ending-explained.txt").read_bytes()


@pytest.fixture(scope="session")
def databases() -> Iterator[ScratchDatabases]:
    """PostgreSQL for the session: ``databases.create()`` gives a fresh, migrated database."""
    found = ScratchDatabases()
    yield found
    found.close()


@pytest.fixture(scope="session")
def session_broker() -> Iterator[str]:
    """``SYNDICATE_TEST_BROKER=rabbitmq`` runs the session's workers on a RabbitMQ vhost
    (here, not in tests/integration, because the hostile suite shares that session)."""
    if os.environ.get("SYNDICATE_TEST_BROKER", "redis") != "rabbitmq":
        yield ""
        return
    with private_vhost() as url:
        yield url
