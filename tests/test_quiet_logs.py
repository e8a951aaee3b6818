"""Quiet by default: periodic ticks and start-up chatter move to DEBUG, real work stays."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator, Mapping

import pytest

from config.celery_app import app
from config.logging import make_handler
from config.quiet_logs import TICK_TASKS, is_routine

RECEIVED = "Task %(name)s[%(id)s] received"
SUCCEEDED = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s"


def celery_record(logger: str, message: str, data: Mapping[str, object]) -> logging.LogRecord:
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, message, (dict(data),), None)
    record.data = dict(data)
    return record


def test_every_beat_scheduled_task_is_a_tick() -> None:
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= TICK_TASKS


@pytest.mark.parametrize(
    ("logger", "message", "data", "routine"),
    [
        ("celery.worker.strategy", RECEIVED, {"name": "syndicate.deliver_dispatch"}, True),
        ("celery.worker.strategy", RECEIVED, {"name": "syndicate.ingest"}, False),
        ("celery.app.trace", SUCCEEDED,
         {"name": "syndicate.deliver_dispatch", "return_value": "0"}, True),
        ("celery.app.trace", SUCCEEDED,
         {"name": "syndicate.publish_feeds", "return_value": "[]"}, True),
        # A tick that did work says so.
        ("celery.app.trace", SUCCEEDED,
         {"name": "syndicate.publish_feeds", "return_value": "['main']"}, False),
        ("celery.app.trace", SUCCEEDED,
         {"name": "syndicate.requeue_stalled", "return_value": "3"}, False),
        ("celery.app.trace", SUCCEEDED, {"name": "syndicate.ingest", "return_value": "{}"}, False),
        ("celery.beat", "Scheduler: Sending due task %s (%s)", {}, True),
        ("celery.apps.worker", "%s ready.", {}, True),
        ("syndicate.up", "syndicate is up", {}, False),
    ],
)  # fmt: skip
def test_routine_records(logger: str, message: str, data: dict[str, object], routine: bool) -> None:
    assert is_routine(celery_record(logger, message, data)) is routine


@pytest.fixture
def root_at_info() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    root = logging.getLogger()
    handler = make_handler("text", process="worker", stream=stream)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield root, stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_a_tick_is_dropped_at_info_and_written_at_debug(
    root_at_info: tuple[logging.Logger, io.StringIO],
) -> None:
    root, stream = root_at_info
    marker = uuid.uuid4().hex
    tick = {"name": "syndicate.deliver_dispatch", "id": marker, "return_value": "0", "runtime": 0.1}
    work = {"name": "syndicate.ingest", "id": marker, "return_value": "{}", "runtime": 0.1}
    logger = logging.getLogger("celery.app.trace")
    logger.handle(celery_record("celery.app.trace", SUCCEEDED, tick))
    logger.handle(celery_record("celery.app.trace", SUCCEEDED, work))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "INFO celery.app.trace" in lines[0]
    assert "syndicate.ingest" in lines[0]

    root.setLevel(logging.DEBUG)
    logger.handle(celery_record("celery.app.trace", SUCCEEDED, tick))
    last = stream.getvalue().splitlines()[-1]
    assert "DEBUG celery.app.trace" in last
    assert "syndicate.deliver_dispatch" in last
