"""Shared fixtures: paths to the example and fixture articles, the shared sample, the
session's PostgreSQL server and Celery broker.

The integration and faults tests run once per broker: on Redis, and on a private
RabbitMQ vhost when a RabbitMQ is reachable (when it is not, one line at the end of the
run says so). Tests of RabbitMQ itself are marked ``rabbitmq_broker``. Every other
test that needs the session's services runs on Redis. ``SYNDICATE_TEST_BROKERS=redis``
runs every test on Redis only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import rabbitmq
from tests.postgres import ScratchDatabases

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"
SAMPLE = SHARED / "samples" / "red-rocket-2021-ending-explained.txt"
TESTS = Path(__file__).resolve().parent
#: ``SYNDICATE_TEST_BROKERS=redis`` narrows a run to one broker (a quicker local loop).
WANTED = tuple(os.environ.get("SYNDICATE_TEST_BROKERS", "redis,rabbitmq").split(","))
#: Folders whose tests run on every broker.
ON_EVERY_BROKER = ("integration", "faults")


def brokers() -> tuple[str, ...]:
    """The brokers of this run: those wanted, less RabbitMQ when it cannot be used."""
    return tuple(name for name in WANTED if name != "rabbitmq" or rabbitmq.unusable() is None)


def brokers_for(definition: pytest.Function) -> tuple[str, ...]:
    """The brokers a test runs on (see the module's docstring)."""
    if definition.get_closest_marker("rabbitmq_broker"):
        return ("rabbitmq",)  # deselected when RabbitMQ cannot be used (below)
    folder = Path(definition.path).resolve().relative_to(TESTS).parts[0]
    if folder in ON_EVERY_BROKER:
        return brokers()
    return ("redis",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Session scope: pytest groups each broker's tests, so each session stack starts once.
    if "session_broker" in metafunc.fixturenames:
        metafunc.parametrize(
            "session_broker", brokers_for(metafunc.definition), indirect=True, scope="session"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "rabbitmq" in brokers():
        return
    dropped = [item for item in items if item.get_closest_marker("rabbitmq_broker")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reason = rabbitmq.unusable() if "rabbitmq" in WANTED else None
    if reason:
        terminalreporter.write_line(
            f"RabbitMQ: not used ({reason}); the integration and faults tests ran on Redis "
            "only, and the tests of RabbitMQ itself were deselected"
        )


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
def session_broker(request: pytest.FixtureRequest) -> Iterator[str]:
    """Celery's broker for the session's workers: "" for the session's Redis, or the URL
    of a private RabbitMQ vhost (here, not in tests/integration, because the hostile
    suite shares the session's services)."""
    if request.param == "redis":
        yield ""
        return
    with rabbitmq.private_vhost() as url:
        yield url
