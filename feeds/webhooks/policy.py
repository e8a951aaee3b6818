"""What to do after a delivery attempt: delivered, retry later, give up, or disable.

    judge(status, error=..., attempt=..., schedule=..., ...) -> Verdict

Pure: the time (``now``) and the randomness (``unit_random``) are passed in.

* 2xx is delivered; 410 Gone disables the endpoint.
* Any other outcome is a failure: an HTTP status (3xx included: redirects are never
  followed) or no response at all (``status`` None, ``error`` says why).
* An endpoint failing continuously for ``disable_after`` seconds is disabled.
* After the last attempt of the schedule the message is dead; before it, the next
  attempt waits ``schedule[attempt]`` seconds, jittered by ±20%.
* For 429 and 503, a ``Retry-After`` header (seconds or an HTTP date) replaces the
  schedule's delay, but never below ``retry_after_min`` and never above 24 hours;
  without a usable header the delay is at least ``retry_after_min``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

#: Delays before each attempt: the first at once, then 7 retries over about 1.5 days.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_SPREAD = 0.2
#: The longest delay a ``Retry-After`` header can ask for.
MAX_RETRY_AFTER = 24 * 3600.0
#: Statuses whose ``Retry-After`` header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})

_DELTA_SECONDS = re.compile(r"\d+")

VerdictKind = Literal["delivered", "retry", "dead", "disable"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of an attempt; ``delay`` is the wait before a retry, in seconds."""

    kind: VerdictKind
    delay: float = 0.0
    reason: str = ""


def jittered(delay: float, unit_random: float, spread: float = DEFAULT_SPREAD) -> float:
    """``delay`` moved by up to ±``spread`` of itself; ``unit_random`` is in [0, 1)."""
    if not 0.0 <= unit_random <= 1.0:
        raise ValueError(f"unit_random must be between 0 and 1, got {unit_random!r}")
    return delay * (1 + spread * (2 * unit_random - 1))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or HTTP date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def judge(
    status: int | None,
    *,
    error: str | None,
    attempt: int,
    schedule: Sequence[float],
    retry_after: str | None,
    now: float,
    retry_after_min: float,
    failing_since: float | None,
    disable_after: float,
    unit_random: float,
) -> Verdict:
    """The verdict on attempt number ``attempt`` (1-based) of a message (see above)."""
    if attempt < 1 or not schedule:
        raise ValueError("attempt counts from 1 and the schedule needs at least one delay")
    if status is not None and 200 <= status < 300:
        return Verdict("delivered", reason=f"HTTP {status}")
    if status == 410:
        return Verdict("disable", reason="endpoint answered 410 Gone")
    if failing_since is not None and now - failing_since >= disable_after:
        return Verdict("disable", reason=f"failing continuously since {_rfc3339(failing_since)}")
    failure = describe_failure(status, error)
    if attempt >= len(schedule):
        return Verdict("dead", reason=failure)
    delay = jittered(schedule[attempt], unit_random)
    if status in RETRY_AFTER_STATUSES:
        delay = _throttled_delay(delay, retry_after, now, retry_after_min)
    return Verdict("retry", delay=delay, reason=failure)


def describe_failure(status: int | None, error: str | None) -> str:
    """A short reason: ``HTTP 500``, ``redirect (301) not followed`` or the error."""
    if status is None:
        return error or "no response"
    redirect = 300 <= status < 400
    reason = f"redirect ({status}) not followed" if redirect else f"HTTP {status}"
    return f"{reason}: {error}" if error else reason


def _throttled_delay(delay: float, retry_after: str | None, now: float, minimum: float) -> float:
    """The delay after a 429 or 503: Retry-After if usable, never below ``minimum``."""
    asked = parse_retry_after(retry_after, now)
    if asked is None:
        return max(delay, minimum)
    return min(max(minimum, asked), MAX_RETRY_AFTER)


def _rfc3339(seconds: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC, seconds precision."""
    try:
        moment = datetime.fromtimestamp(math.floor(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        return f"{seconds!r} (seconds since the epoch)"
    return moment.replace(tzinfo=None).isoformat() + "Z"
