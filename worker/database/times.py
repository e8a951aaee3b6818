"""Seconds since the epoch (what the pure core and Redis use) to and from timestamptz."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(seconds: float) -> datetime:
    """Seconds since the epoch as an aware datetime (what timestamptz columns take)."""
    return datetime.fromtimestamp(seconds, UTC)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
