"""Schemathesis against the live API's own OpenAPI document: whatever a client sends
that the document allows (and much that it does not), the API answers without a 5xx.

The API runs in a child process on a Redis database of its own, so generated articles
and subscriptions never reach the shared feeds of the other tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.conftest import (  # noqa: F401 - the session's Redis fixture
    ApiProcess,
    RedisService,
    auth,
    redis_service,
    service_env,
)
from tests.integration.databases import other_db

# schemathesis's own pytest plugin does not run under pytest 9 (it reads a private
# attribute pytest removed), so the operations are walked here with its Python API.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzzed_api(redis_service: RedisService) -> Iterator[ApiProcess]:  # noqa: F811
    url = other_db(redis_service.url, 11)
    redis.Redis.from_url(url).flushdb()
    process = ApiProcess(service_env(redis_service, REDIS_URL=url))
    yield process
    process.stop()
    redis.Redis.from_url(url).flushdb()


def test_no_operation_answers_a_server_error_to_valid_or_invalid_requests(
    fuzzed_api: ApiProcess,
) -> None:
    base_url = str(fuzzed_api.client.base_url).rstrip("/")
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    # /readyz answers 503 by design here: no worker consumes this database's queues.
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path != "/readyz"
    ]
    assert len(operations) >= 20  # every route of the document, not a subset
    calls: Counter[str] = Counter()
    runs = [(o, mode) for o in operations for mode in GenerationMode]  # valid and invalid
    for operation, mode in runs:
        label = f"{operation.label} ({mode.value})"

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def call(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=base_url, headers=auth(), checks=[not_a_server_error], timeout=30
            )
            calls[f"{label} -> {response.status_code}"] += 1  # noqa: B023 - called at once

        try:
            call()
        except Unsatisfiable:
            # Nothing to make invalid (an operation without parameters or body).
            assert mode is GenerationMode.NEGATIVE, label
    assert fuzzed_api.answers()  # still up
    print(f"\n{sum(calls.values())} calls over {len(operations)} operations, no 5xx")
    for outcome, count in sorted(calls.items()):
        print(f"  {outcome}: {count}")
