"""The retry policy of webhook deliveries, and the durations its settings are written in."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.webhooks.policy import (
    DEFAULT_SCHEDULE,
    MAX_RETRY_AFTER,
    Verdict,
    describe_failure,
    jittered,
    judge,
    parse_retry_after,
)
from worker.core.durations import format_duration, parse_duration, parse_schedule

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
DAY = 86_400.0


def verdict(status: int | None, **changes: Any) -> Verdict:
    """The verdict with neutral defaults: attempt 1, no jitter, no Retry-After."""
    options: dict[str, Any] = {
        "error": None,
        "attempt": 1,
        "schedule": DEFAULT_SCHEDULE,
        "retry_after": None,
        "now": NOW,
        "retry_after_min": 30.0,
        "failing_since": None,
        "disable_after": 5 * DAY,
        "unit_random": 0.5,
    }
    options.update(changes)
    return judge(status, **options)


@pytest.mark.parametrize(
    ("status", "changes", "expected"),
    [
        (200, {}, Verdict("delivered", 0.0, "HTTP 200")),
        (204, {"attempt": 8}, Verdict("delivered", 0.0, "HTTP 204")),
        (299, {"failing_since": NOW - 10 * DAY}, Verdict("delivered", 0.0, "HTTP 299")),
        (410, {}, Verdict("disable", 0.0, "endpoint answered 410 Gone")),
        (410, {"attempt": 8}, Verdict("disable", 0.0, "endpoint answered 410 Gone")),
        (500, {}, Verdict("retry", 5.0, "HTTP 500")),
        (500, {"attempt": 2}, Verdict("retry", 300.0, "HTTP 500")),
        (500, {"attempt": 7}, Verdict("retry", 36_000.0, "HTTP 500")),
        (500, {"attempt": 8}, Verdict("dead", 0.0, "HTTP 500")),
        (500, {"attempt": 9}, Verdict("dead", 0.0, "HTTP 500")),
        (404, {"attempt": 3}, Verdict("retry", 1800.0, "HTTP 404")),
        (400, {"error": "bad body"}, Verdict("retry", 5.0, "HTTP 400: bad body")),
        (301, {}, Verdict("retry", 5.0, "redirect (301) not followed")),
        (308, {"attempt": 8}, Verdict("dead", 0.0, "redirect (308) not followed")),
        (None, {"error": "timeout after 10s"}, Verdict("retry", 5.0, "timeout after 10s")),
        (
            None,
            {"error": "connection refused", "attempt": 8},
            Verdict("dead", 0.0, "connection refused"),
        ),
        (None, {}, Verdict("retry", 5.0, "no response")),
        (102, {}, Verdict("retry", 5.0, "HTTP 102")),
        (500, {"schedule": (0,)}, Verdict("dead", 0.0, "HTTP 500")),
        (500, {"schedule": (0, 60)}, Verdict("retry", 60.0, "HTTP 500")),
    ],
)
def test_verdicts(status: int | None, changes: dict[str, Any], expected: Verdict) -> None:
    assert verdict(status, **changes) == expected


def test_an_endpoint_failing_for_too_long_is_disabled() -> None:
    since = NOW - 5 * DAY
    expected = Verdict("disable", 0.0, "failing continuously since 2024-04-26T12:00:00Z")
    assert verdict(500, failing_since=since) == expected
    assert verdict(None, error="timeout", failing_since=since, attempt=8) == expected
    assert verdict(429, retry_after="60", failing_since=since - 1).kind == "disable"
    assert verdict(500, failing_since=since + 1).kind == "retry"
    assert verdict(500, failing_since=since + 1, attempt=8).kind == "dead"


def test_410_disables_before_the_failing_time_matters() -> None:
    assert verdict(410, failing_since=NOW - 10 * DAY).reason == "endpoint answered 410 Gone"


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="attempt"):
        verdict(500, attempt=0)
    with pytest.raises(ValueError, match="schedule"):
        verdict(500, schedule=())


# Jitter.


@pytest.mark.parametrize(
    ("unit_random", "expected"), [(0.0, 80.0), (0.25, 90.0), (0.5, 100.0), (0.75, 110.0)]
)
def test_jitter(unit_random: float, expected: float) -> None:
    assert jittered(100.0, unit_random) == pytest.approx(expected)


@given(st.floats(0, 10 * DAY), st.floats(0, 1, exclude_max=True))
def test_jitter_stays_within_20_percent(delay: float, unit_random: float) -> None:
    moved = jittered(delay, unit_random)
    assert delay * 0.8 - 1e-9 <= moved <= delay * 1.2 + 1e-9
    assert jittered(0.0, unit_random) == 0.0


def test_jitter_spread_and_range() -> None:
    assert jittered(100.0, 0.0, spread=0.5) == pytest.approx(50.0)
    assert jittered(100.0, 0.9, spread=0.0) == 100.0
    with pytest.raises(ValueError, match="unit_random"):
        jittered(100.0, 1.5)
    with pytest.raises(ValueError, match="unit_random"):
        jittered(100.0, -0.1)


def test_retries_are_jittered() -> None:
    assert verdict(500, attempt=2, unit_random=0.0).delay == pytest.approx(240.0)
    assert verdict(500, attempt=2, unit_random=0.999).delay == pytest.approx(359.88)


# Retry-After.


def http_date(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (http_date(NOW + 3600), 3600.0),
        ("Wed, 01 May 2024 12:01:00 GMT", 60.0),
        ("Wed, 01 May 2024 12:01:00 -0000", 60.0),
        ("Wednesday, 01-May-24 12:01:00 GMT", 60.0),
        ("Wed May  1 12:01:00 2024", 60.0),
        (http_date(NOW - 3600), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Wed, 32 May 2024 12:01:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_replaces_the_schedule_delay(status: int) -> None:
    assert verdict(status, retry_after="120") == Verdict("retry", 120.0, f"HTTP {status}")
    assert verdict(status, retry_after="120", attempt=5).delay == 120.0
    assert verdict(status, retry_after=http_date(NOW + 7200)).delay == 7200.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_never_below_the_minimum(status: int) -> None:
    assert verdict(status, retry_after="1").delay == 30.0
    assert verdict(status, retry_after=http_date(NOW - 60)).delay == 30.0
    assert verdict(status, retry_after="0", retry_after_min=0.0).delay == 0.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_capped_at_a_day(status: int) -> None:
    assert verdict(status, retry_after=str(10 * 86_400)).delay == MAX_RETRY_AFTER
    assert verdict(status, retry_after="9" * 400).delay == MAX_RETRY_AFTER
    assert verdict(status, retry_after=http_date(NOW + 3 * DAY)).delay == MAX_RETRY_AFTER


@pytest.mark.parametrize("status", [429, 503])
def test_without_retry_after_the_schedule_delay_is_at_least_the_minimum(status: int) -> None:
    assert verdict(status).delay == 30.0
    assert verdict(status, retry_after="later").delay == 30.0
    assert verdict(status, attempt=2).delay == 300.0


def test_retry_after_is_ignored_for_other_statuses() -> None:
    assert verdict(500, retry_after="3600").delay == 5.0
    assert verdict(None, error="timeout", retry_after="3600").delay == 5.0


def test_retry_after_does_not_outlive_the_schedule() -> None:
    assert verdict(429, retry_after="60", attempt=8) == Verdict("dead", 0.0, "HTTP 429")


def test_describe_failure() -> None:
    assert describe_failure(500, None) == "HTTP 500"
    assert describe_failure(302, None) == "redirect (302) not followed"
    assert describe_failure(None, "address refused: 10.0.0.1") == "address refused: 10.0.0.1"
    assert describe_failure(None, None) == "no response"


# Durations.


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("5", 5.0),
        ("1.5", 1.5),
        ("250ms", 0.25),
        ("5s", 5.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("5d", 432_000.0),
        ("1w", 604_800.0),
        (" 5 M ", 300.0),
        ("10H", 36_000.0),
        ("250MS", 0.25),
        (".5s", 0.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a duration"),
        ("   ", "not a duration"),
        ("-5s", "negative"),
        ("5x", "unknown duration unit"),
        ("5 sec", "unknown duration unit"),
        ("1e3", "not a duration"),
        ("inf", "not a duration"),
        ("nan", "not a duration"),
        ("5s 3m", "not a duration"),
        ("s", "not a duration"),
    ],
)
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_parse_schedule() -> None:
    assert parse_schedule("0,5s,5m,30m,2h,5h,10h,10h") == DEFAULT_SCHEDULE
    assert parse_schedule(" 1m ") == (60.0,)
    for bad in ("", " ", "5s,", ",5s", "5s,,5m", "5s,-1"):
        with pytest.raises(ValueError, match=r"schedule|duration"):
            parse_schedule(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (0.0004, "0s"),
        (0.9996, "1s"),
        (1.5, "1.5s"),
        (5, "5s"),
        (300, "5m"),
        (7200, "2h"),
        (93_600, "1d 2h"),
        (3661, "1h 1m 1s"),
        (604_800, "7d"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_duration_refuses_negative_and_infinite() -> None:
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="duration"):
            format_duration(bad)


@given(st.integers(0, 10**9))
def test_single_unit_durations_round_trip(seconds: int) -> None:
    text = format_duration(seconds)
    assert sum(parse_duration(part) for part in text.split()) == seconds
