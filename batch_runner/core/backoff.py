"""Backoff and rate-limit header arithmetic. Pure: the caller passes the random source and the time."""

from __future__ import annotations

import math
import random

#: A Ratelimit-Reset above this is a Unix time, not seconds from now (no window is a day long).
UNIX_TIME_THRESHOLD = 86_400.0 * 365


def delay(attempt: int, rng: random.Random, *, base_s: float = 1.0, cap_s: float = 60.0) -> float:
    """Exponential backoff with full jitter for the `attempt`-th retry (1-based)."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def reset_after_s(value: str | None, *, now_unix: float) -> float | None:
    """Seconds until the window resets, from a Ratelimit-Reset header in either style."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if number > UNIX_TIME_THRESHOLD:
        return max(0.0, number - now_unix)
    return number
