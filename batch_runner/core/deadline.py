"""Durations and the --deadline: parsing, and whether the Strict budget fits before it.

Pure: `now` is passed in (an aware local datetime), nothing reads a clock.

    --deadline 06:00                 the next 06:00 local time (tomorrow if it is past 06:00 now)
    --deadline 2026-11-25T06:30      an ISO date-time; without an offset it is local time
    --deadline +2h / +90s / +1h30m   that long from now
    --outage-budget 600 / 10m        a duration: seconds, or a number with s, m or h
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta

#: Seconds per unit of a duration.
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
#: Strict requests an order needs at least: createCart + submitCart.
STRICT_CALLS_PER_ORDER = 2


class BadDuration(ValueError):
    """The text is not a duration (or not a deadline); the message says what is accepted."""


def parse_duration(text: str | float) -> float:
    """Seconds from 600, "600", "10s", "5m", "1h", "1h30m"; must be > 0 and finite."""
    if isinstance(text, bool):
        raise BadDuration("a duration is a number of seconds or a number with s, m or h")
    seconds = float(text) if isinstance(text, int | float) else _duration_text(text.strip().lower())
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadDuration("a duration must be more than 0 seconds")
    return seconds


def _duration_text(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise BadDuration(
            f"{text!r} is not a duration: give seconds (600) or a number with s, m or h "
            "(90s, 10m, 1h30m)"
        )
    return sum(float(n) * UNITS[u] for n, u in parts)


def parse_deadline(text: str, *, now: datetime,
                   localize: Callable[[datetime], datetime] | None = None) -> datetime:
    """The moment `text` names, in `now`'s time zone.

    `localize` turns a wall-clock time (naive) into a moment under the local zone's rules, so a
    deadline past a daylight-saving change gets that day's offset; without it, `now`'s offset.

    Raises:
        BadDuration: none of HH:MM, an ISO date-time, or +DURATION.
    """
    text = text.strip()
    if text.startswith("+"):
        return now + timedelta(seconds=parse_duration(text[1:]))
    local = localize or (lambda naive: naive.replace(tzinfo=now.tzinfo))
    if match := _CLOCK.fullmatch(text):
        wall = now.replace(tzinfo=None, hour=int(match[1]), minute=int(match[2]), second=0,
                           microsecond=0)
        target = local(wall)
        return target if target > now else local(wall + timedelta(days=1))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadDuration(
            f"deadline {text!r} is neither HH:MM (local time), an ISO date-time, nor +DURATION "
            "(+2h, +90m)"
        ) from None
    return local(moment) if moment.tzinfo is None else moment


def strict_estimate_s(orders: int, strict_rps: float) -> float:
    """Each order needs at least createCart + submitCart, both in the Strict tier."""
    return STRICT_CALLS_PER_ORDER * orders / strict_rps


def format_duration(seconds: float) -> str:
    """1h05m00s / 4m05s."""
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def deadline_note(*, orders: int, strict_rps: float, deadline: datetime, now: datetime,
                  given: str) -> tuple[bool, str]:
    """(fits, the line to show at start): whether the Strict budget fits before the deadline."""
    needed_s = strict_estimate_s(orders, strict_rps)
    left_s = (deadline - now).total_seconds()
    at = deadline.strftime("%Y-%m-%d %H:%M:%S")
    budget = (f"{orders} orders need at least {format_duration(needed_s)} of Strict budget at "
              f"{strict_rps:g} requests/s")
    if left_s <= 0:
        return False, f"warning: the deadline {given} ({at}) has already passed; nothing will be sent"
    if needed_s > left_s:
        return False, (f"warning: {budget}, but the deadline {given} ({at}) is "
                       f"{format_duration(left_s)} away: the run will stop there, and a rerun "
                       "resumes the rest")
    return True, f"deadline {given} ({at}) is {format_duration(left_s)} away: {budget}, which fits"
