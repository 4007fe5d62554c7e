"""--deadline and durations: the forms accepted, the next HH:MM, and whether the budget fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from batch_runner.core.deadline import (
    BadDuration,
    deadline_note,
    format_duration,
    parse_deadline,
    parse_duration,
    strict_estimate_s,
)

LOCAL = timezone(timedelta(hours=1))
NOW = datetime(2026, 11, 24, 22, 30, 15, tzinfo=LOCAL)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("600", 600.0), (900, 900.0), (2.5, 2.5), ("10s", 10.0), ("5m", 300.0), ("1h", 3600.0),
     ("1h30m", 5400.0), ("1.5h", 5400.0), (" 90S ", 90.0), ("2d", 172800.0)],
)
def test_durations(text: str | float, seconds: float) -> None:
    """Seconds as a number, or a number with s, m, h or d (several parts add up)."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5", "0s", "10x", "m5", "5 m", "1h 30m", "inf", "nan", True])
def test_bad_durations_are_refused(text: str | bool) -> None:
    """Nothing that is not a positive, finite duration passes."""
    with pytest.raises(BadDuration):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23:00", datetime(2026, 11, 24, 23, 0, tzinfo=LOCAL)),  # later today
        ("06:00", datetime(2026, 11, 25, 6, 0, tzinfo=LOCAL)),  # after midnight: tomorrow
        ("22:30", datetime(2026, 11, 25, 22, 30, tzinfo=LOCAL)),  # this minute has begun: tomorrow
        ("6:05", datetime(2026, 11, 25, 6, 5, tzinfo=LOCAL)),
        ("+2h", NOW + timedelta(hours=2)),
        ("+90s", NOW + timedelta(seconds=90)),
        ("+1h30m", NOW + timedelta(minutes=90)),
        ("2026-11-25T06:30", datetime(2026, 11, 25, 6, 30, tzinfo=LOCAL)),  # local when no offset
        ("2026-11-25T05:30:00+00:00", datetime(2026, 11, 25, 5, 30, tzinfo=UTC)),
    ],
)
def test_deadline_forms(text: str, expected: datetime) -> None:
    """HH:MM is the next such local time, ISO keeps its offset (else local), +D counts from now."""
    assert parse_deadline(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["6 am", "24:00", "12:60", "+", "+soon", "tomorrow", "2026-13-01"])
def test_bad_deadlines_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(BadDuration, match=r"HH:MM|duration"):
        parse_deadline(text, now=NOW)


def test_the_note_says_whether_the_strict_budget_fits() -> None:
    """1000 orders at 1/s need 33m20s: 10 minutes away does not fit, 2 hours does."""
    assert strict_estimate_s(1000, 1.0) == 2000.0
    fits, line = deadline_note(orders=1000, strict_rps=1.0, deadline=NOW + timedelta(minutes=10),
                               now=NOW, given="+10m")
    assert not fits
    assert "need at least 33m20s" in line
    assert "10m00s away" in line
    assert line.startswith("warning:")
    fits, line = deadline_note(orders=1000, strict_rps=1.0, deadline=NOW + timedelta(hours=2),
                               now=NOW, given="00:30")
    assert fits
    assert "which fits" in line
    fits, line = deadline_note(orders=1, strict_rps=1.0, deadline=NOW - timedelta(seconds=1),
                               now=NOW, given="2026-11-24T22:30")
    assert not fits
    assert "already passed" in line


def test_format_duration() -> None:
    assert format_duration(59) == "0m59s"
    assert format_duration(3725) == "1h02m05s"


def test_a_deadline_past_a_daylight_saving_change_takes_that_days_offset() -> None:
    """Started at 23:00 EST the night clocks spring forward: --deadline 06:00 is 06:00 EDT
    (10:00 UTC), not 06:00 at the evening's offset (11:00 UTC, an hour too late)."""
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 7, 23, 0, tzinfo=timezone(timedelta(hours=-5)))  # as astimezone() gives
    moment = parse_deadline("06:00", now=start,
                            localize=lambda naive: naive.replace(tzinfo=new_york))
    assert moment.astimezone(UTC) == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    assert parse_deadline("06:00", now=start).astimezone(UTC) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
