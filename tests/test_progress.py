"""Progress: a rich bar on a terminal, periodic log lines without one, nothing when quiet."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from rich.console import Console

from batch_runner.core.model import OrderStatus
from batch_runner.progress import (
    BarProgress,
    LogProgress,
    NoProgress,
    Tally,
    make_progress,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LOGGER = logging.getLogger("tests.progress")  # outside "batch_runner", which does not propagate


@pytest.mark.parametrize(
    ("mode", "quiet", "tty", "kind"),
    [
        ("auto", False, True, BarProgress),
        ("auto", False, False, LogProgress),
        ("bar", False, False, BarProgress),
        ("log", False, True, LogProgress),
        ("none", False, True, NoProgress),
        ("auto", True, True, NoProgress),
        ("bar", True, True, NoProgress),
    ],
)
def test_the_display_follows_mode_quiet_and_terminal(
    monkeypatch: pytest.MonkeyPatch, mode: str, quiet: bool, tty: bool, kind: type
) -> None:
    """auto means a bar on a terminal and log lines otherwise; quiet or none shows nothing."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    progress = make_progress(mode=mode, quiet=quiet, logger=LOGGER, strict_rps=1.0, interval_s=30.0)
    assert isinstance(progress, kind)


def test_eta_is_the_strict_budget_the_unfinished_orders_still_need() -> None:
    """Each unfinished order needs two Strict calls: 100 left at 2/s is at least 100 s."""
    tally = Tally(strict_rps=2.0, clock=FakeClock())
    assert tally.eta_s() is None
    tally.total = 120
    tally.by_status[OrderStatus.PLACED] += 20
    assert tally.eta_s() == 100.0
    tally.by_status[OrderStatus.FAILED] += 200
    assert tally.eta_s() == 0.0


def test_strict_rate_counts_calls_of_the_last_ten_seconds() -> None:
    """The Strict rate is calls in the last 10 s divided by 10; older calls drop out."""
    clock = FakeClock()
    tally = Tally(strict_rps=1.0, clock=clock)
    for _ in range(5):
        tally.note_strict_call()
        clock.now += 1.0
    assert tally.strict_rate() == 0.5
    clock.now += 20.0
    assert tally.strict_rate() == 0.0


def test_log_progress_writes_at_start_every_interval_and_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    """Without a terminal a line is logged at start, at most once per interval, and at close."""
    clock = FakeClock()
    progress = LogProgress(strict_rps=1.0, logger=LOGGER, interval_s=30.0, clock=clock)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        progress.start(10)
        for _ in range(3):
            progress.strict_call()
            progress.order_finished(OrderStatus.PLACED)
        clock.now += 31.0
        progress.order_finished(OrderStatus.FAILED)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("progress: 0/10 orders done (none finished yet)")
    assert "4/10 orders done (3 PLACED, 1 FAILED)" in lines[1]
    assert "ETA >= 0m12s" in lines[1]


def test_the_bar_shows_done_total_counts_rate_and_eta() -> None:
    """On a terminal the bar shows orders done of total, PLACED and those needing a person, the
    Strict rate and the ETA."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    clock = FakeClock()
    bar = BarProgress(strict_rps=1.0, console=console, clock=clock)
    bar.start(5)
    bar.strict_call()
    bar.order_finished(OrderStatus.PLACED)
    bar.order_finished(OrderStatus.NEEDS_ATTENTION)
    bar.close()
    bar.close()  # closing twice is harmless
    text = out.getvalue()
    assert "2/5" in text
    assert "1 PLACED" in text
    assert "1 need a person" in text  # the summary's words: the breakdown would not fit 80 columns
    assert "Strict 0.1/s" in text
    assert "ETA >= 0m06s" in text


def test_no_progress_accepts_every_call_and_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The quiet display takes the same calls and writes nothing at all."""
    progress = NoProgress()
    progress.start(None)
    progress.strict_call()
    progress.order_finished(OrderStatus.PLACED)
    progress.close()
    assert capsys.readouterr() == ("", "")


def test_the_unreachable_notice_heads_the_log_line_at_once_and_clears(caplog: pytest.LogCaptureFixture) -> None:
    """outage(notice) logs a line at once that starts with the notice; outage(None) drops it."""
    clock = FakeClock()
    progress = LogProgress(strict_rps=1.0, logger=LOGGER, interval_s=30.0, clock=clock)
    notice = "API unreachable since 02:14:07 (last error: cannot connect)"
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        progress.start(3)
        progress.outage(notice)
        progress.outage(None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[1].startswith(f"progress: {notice}; 0/3 orders done")
    assert "unreachable" not in lines[2]


def test_the_bar_shows_the_unreachable_notice() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    bar = BarProgress(strict_rps=1.0, console=console, clock=FakeClock())
    bar.start(2)
    bar.outage("API unreachable since 02:14:07 (last error: [Errno 111] refused)")
    bar.close()
    assert "API unreachable since 02:14:07 (last error: [Errno 111] refused)" in out.getvalue()
