"""One backoff rule for everything that retries."""

from __future__ import annotations


def compute_backoff(attempt: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): base * 2**attempt, capped."""
    return float(min(cap, base * 2.0 ** max(0, attempt)))
