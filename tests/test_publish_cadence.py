"""The rest between publish runs under a stream of articles (a pure function)."""

from __future__ import annotations

from worker.tasks import PUBLISH_REST_FACTOR, publish_countdown


def test_a_quiet_site_publishes_after_the_configured_delay() -> None:
    assert publish_countdown(1.0, None, now=100.0) == 1.0
    assert publish_countdown(1.0, 99.0, now=100.0) == 1.0  # the rest is over


def test_after_a_long_run_the_next_waits_out_its_rest() -> None:
    run_seconds = 0.4
    rest_until = 100.0 + PUBLISH_REST_FACTOR * run_seconds
    assert publish_countdown(1.0, rest_until, now=100.5) == rest_until - 100.5


def test_the_rest_never_outlasts_the_scheduling_flag() -> None:
    assert publish_countdown(1.0, 10_000.0, now=100.0) == 30.0
