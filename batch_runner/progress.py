"""Progress while a run goes on: a rich bar on a terminal, a log line every N seconds under cron.

The runner calls start(total), order_finished(status) per ledger line and strict_call() per
Strict-tier request; this module only displays. The ETA is what the Strict budget still
needs: every unfinished order costs at least a createCart and a submitCart at strict_rps.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.progress import Progress as RichProgress

from batch_runner.core.model import OrderStatus

#: The Strict rate shown is the number of calls in this many recent seconds, divided by it.
RATE_WINDOW_S = 10.0
#: Strict requests an order needs at least: createCart + submitCart.
STRICT_CALLS_PER_ORDER = 2
MODES = ("auto", "bar", "log", "none")
#: rich styles for the bar's counts by status.
STYLES = {OrderStatus.PLACED: "green", OrderStatus.PARTIAL: "cyan",
          OrderStatus.NEEDS_ATTENTION: "bold yellow", OrderStatus.FAILED: "red",
          OrderStatus.INVALID: "magenta"}


class Progress(Protocol):
    def start(self, total: int | None) -> None: ...
    def order_finished(self, status: OrderStatus) -> None: ...
    def strict_call(self) -> None: ...
    def outage(self, notice: str | None) -> None: ...
    def close(self) -> None: ...


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{sec:02d}s"


class Tally:
    """The numbers both displays show: orders done by status, the recent Strict rate, the ETA."""

    def __init__(self, *, strict_rps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total: int | None = None
        self.by_status: Counter[OrderStatus] = Counter()
        self.strict_rps = strict_rps
        self.clock = clock
        self.notice: str | None = None  #: "API unreachable since ..." while it is
        self._strict_times: deque[float] = deque()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.line()}>"

    @property
    def done(self) -> int:
        return sum(self.by_status.values())

    def note_strict_call(self) -> None:
        self._strict_times.append(self.clock())

    def strict_rate(self) -> float:
        """Strict calls per second over the last RATE_WINDOW_S seconds."""
        now = self.clock()
        while self._strict_times and now - self._strict_times[0] > RATE_WINDOW_S:
            self._strict_times.popleft()
        return len(self._strict_times) / RATE_WINDOW_S

    def eta_s(self) -> float | None:
        """Seconds the Strict budget still needs for the orders not yet finished, at best."""
        if self.total is None:
            return None
        return STRICT_CALLS_PER_ORDER * max(0, self.total - self.done) / self.strict_rps

    def counts(self) -> str:
        return ", ".join(f"{self.by_status[s]} {s.value}" for s in OrderStatus
                         if self.by_status[s]) or "none finished yet"

    def line(self) -> str:
        total = "?" if self.total is None else str(self.total)
        line = (f"{self.done}/{total} orders done ({self.counts()}); Strict "
                f"{self.strict_rate():.1f}/s of {self.strict_rps:g}/s; ETA >= {eta_text(self.eta_s())}")
        return line if self.notice is None else f"{self.notice}; {line}"


class NoProgress:
    """--quiet or --progress none: shows nothing."""

    def start(self, total: int | None) -> None:
        pass

    def order_finished(self, status: OrderStatus) -> None:
        pass

    def strict_call(self) -> None:
        pass

    def outage(self, notice: str | None) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress(Tally):
    """No terminal (cron, systemd): one log line at start, every interval_s at most, and at the end.

    Lines are written when something happens (an order finishes or a Strict call is made), so a
    quiet stretch shows as a gap rather than a repeated line.
    """

    def __init__(self, *, strict_rps: float, logger: logging.Logger, interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(strict_rps=strict_rps, clock=clock)
        self._logger = logger
        self._interval_s = interval_s
        self._last = clock()

    def start(self, total: int | None) -> None:
        self.total = total
        self._last = self.clock()
        self._logger.info("progress: %s", self.line())

    def _maybe_log(self) -> None:
        if self.clock() - self._last >= self._interval_s:
            self._last = self.clock()
            self._logger.info("progress: %s", self.line())

    def order_finished(self, status: OrderStatus) -> None:
        self.by_status[status] += 1
        self._maybe_log()

    def strict_call(self) -> None:
        self.note_strict_call()
        self._maybe_log()

    def outage(self, notice: str | None) -> None:
        """The API became unreachable (or answers again): a line at once, not at the interval."""
        self.notice = notice
        self._last = self.clock()
        self._logger.info("progress: %s", self.line())

    def close(self) -> None:
        self._logger.info("progress: %s", self.line())


class BarProgress(Tally):
    """A terminal: rich's live bar on stderr, log lines printed above it."""

    def __init__(self, *, strict_rps: float, console: Console | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(strict_rps=strict_rps, clock=clock)
        self._bar = RichProgress(
            # No elapsed-time column: at 80 columns rich cut it to "0:00:…" (the summary has it).
            TextColumn("[bold]orders"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"), TextColumn("Strict {task.fields[rate]}"),
            TextColumn("ETA >= {task.fields[eta]}"), TextColumn("[bold red]{task.fields[notice]}"),
            console=console or Console(stderr=True), transient=False, refresh_per_second=4,
        )
        self._task = self._bar.add_task("run", total=None, counts="", rate="", eta="?", notice="")
        self._started = False

    def start(self, total: int | None) -> None:
        self.total = total
        self._refresh()
        self._bar.start()
        self._started = True

    def _refresh(self) -> None:
        # Markup built from enums and numbers only: no input text reaches rich's markup parser.
        # As the summary's subject says it: the full breakdown would not fit 80 columns.
        placed = self.by_status.get(OrderStatus.PLACED, 0)
        others = sum(n for s, n in self.by_status.items() if s is not OrderStatus.PLACED)
        counts = f"[green]{placed} PLACED[/]" + (f" [bold yellow]{others} need a person[/]"
                                                   if others else "")
        self._bar.update(self._task, total=self.total, completed=self.done, counts=counts,
                         rate=f"{self.strict_rate():.1f}/s", eta=eta_text(self.eta_s()),
                         notice=rich_escape(self.notice or ""))

    def order_finished(self, status: OrderStatus) -> None:
        self.by_status[status] += 1
        self._refresh()

    def strict_call(self) -> None:
        self.note_strict_call()
        self._refresh()

    def outage(self, notice: str | None) -> None:
        self.notice = notice
        self._refresh()

    def close(self) -> None:
        self._refresh()
        if self._started:
            self._bar.stop()
            self._started = False


def make_progress(
    *, mode: str, quiet: bool, logger: logging.Logger, strict_rps: float, interval_s: float
) -> Progress:
    """The display for `mode` (auto, bar, log, none): auto is a bar on a terminal, else log lines."""
    if quiet or mode == "none":
        return NoProgress()
    if mode == "bar" or (mode == "auto" and sys.stderr.isatty()):
        return BarProgress(strict_rps=strict_rps)
    return LogProgress(strict_rps=strict_rps, logger=logger, interval_s=interval_s)
