"""Durations as short text: ``250ms``, ``5s``, ``5m``, ``2h``, ``5d``, ``1w``.

    parse_duration("5m") -> 300.0
    parse_schedule("0,5s,5m,30m") -> (0.0, 5.0, 300.0, 1800.0)
    format_duration(93600) -> "1d 2h"

A bare number is seconds. Units are case-insensitive and whitespace around the
number and the unit is tolerated; negative, non-finite or unknown forms raise
:class:`ValueError`.
"""

from __future__ import annotations

import math
import re

#: Seconds per unit.
UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]*)", re.IGNORECASE)
_FORMAT_UNITS: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> float:
    """Seconds from a duration such as ``"0"``, ``"1.5"``, ``"250ms"`` or ``"2h"``."""
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"a duration cannot be negative, got {text!r}")
    match = _DURATION.fullmatch(stripped)
    if match is None:
        raise ValueError(
            f"not a duration: {text!r} (expected a number with an optional unit: "
            "ms, s, m, h, d or w, e.g. '5s' or '250ms')"
        )
    unit = match["unit"].lower() or "s"
    if unit not in UNITS:
        raise ValueError(f"unknown duration unit {match['unit']!r} in {text!r} (ms, s, m, h, d, w)")
    seconds = float(match["number"]) * UNITS[unit]
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite, got {text!r}")
    return seconds


def parse_schedule(text: str) -> tuple[float, ...]:
    """Comma-separated durations (at least one), e.g. ``"0,5s,5m,30m,2h"``."""
    parts = text.split(",")
    if not text.strip() or any(not part.strip() for part in parts):
        raise ValueError(f"a schedule is one or more comma-separated durations, got {text!r}")
    return tuple(parse_duration(part) for part in parts)


def format_duration(seconds: float) -> str:
    """A short human form: ``"250ms"``, ``"1.5s"``, ``"5m"``, ``"1d 2h"``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be finite and not negative, got {seconds!r}")
    milliseconds = round(seconds * 1000)
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds else "0s"
    if seconds < 60 and round(seconds, 3) != round(seconds):
        return f"{round(seconds, 3):g}s"
    remaining = round(seconds)
    parts: list[str] = []
    for unit, size in _FORMAT_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
