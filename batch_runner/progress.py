"""Progress while running: a rich bar on a terminal, a log line every N seconds under cron."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter, deque
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from batch_runner.core.model import OrderStatus


class Progress(Protocol):
    def start(self, total: int | None) -> None: ...
    def order_finished(self, status: OrderStatus) -> None: ...
    def strict_call(self) -> None: ...
    def close(self) -> None: ...


class _Tally:
    """Counts shared by both displays: orders done by status and the recent Strict rate."""

    def __init__(self, strict_rps: float) -> None:
        self.total: int | None = None
        self.by_status: Counter[OrderStatus] = Counter()
        self.strict_rps = strict_rps
        self._strict_times: deque[float] = deque(maxlen=10_000)

    @property
    def done(self) -> int:
        return sum(self.by_status.values())

    def strict_rate(self) -> float:
        now = time.monotonic()
        while self._strict_times and now - self._strict_times[0] > 10:
            self._strict_times.popleft()
        return len(self._strict_times) / 10.0

    def eta_s(self) -> float | None:
        if self.total is None:
            return None
        return 2 * max(0, self.total - self.done) / self.strict_rps

    def line(self) -> str:
        counts = ", ".join(f"{n} {s.value}" for s, n in sorted(self.by_status.items()))
        total = "?" if self.total is None else str(self.total)
        eta = self.eta_s()
        eta_text = f", ETA ≥ {int(eta // 60)}m{int(eta % 60):02d}s" if eta is not None else ""
        return (f"{self.done}/{total} orders done ({counts or 'none yet'}); "
                f"Strict {self.strict_rate():.1f}/s{eta_text}")


class NoProgress:
    def start(self, total: int | None) -> None: ...
    def order_finished(self, status: OrderStatus) -> None: ...
    def strict_call(self) -> None: ...
    def close(self) -> None: ...


class LogProgress(_Tally):
    def __init__(self, strict_rps: float, logger: logging.Logger, interval_s: float) -> None:
        super().__init__(strict_rps)
        self._logger = logger
        self._interval_s = interval_s
        self._last = time.monotonic()

    def start(self, total: int | None) -> None:
        self.total = total

    def _maybe_log(self) -> None:
        if time.monotonic() - self._last >= self._interval_s:
            self._last = time.monotonic()
            self._logger.info(self.line())

    def order_finished(self, status: OrderStatus) -> None:
        self.by_status[status] += 1
        self._maybe_log()

    def strict_call(self) -> None:
        self._strict_times.append(time.monotonic())
        self._maybe_log()

    def close(self) -> None:
        self._logger.info(self.line())


class BarProgress(_Tally):
    def __init__(self, strict_rps: float) -> None:
        super().__init__(strict_rps)
        self._bar = RichProgress(
            TextColumn("orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"), console=Console(stderr=True), transient=False,
        )
        self._task = self._bar.add_task("run", total=None, info="")

    def start(self, total: int | None) -> None:
        self.total = total
        self._bar.update(self._task, total=total)
        self._bar.start()

    def _refresh(self) -> None:
        self._bar.update(self._task, completed=self.done, info=self.line().split("; ", 1)[1])

    def order_finished(self, status: OrderStatus) -> None:
        self.by_status[status] += 1
        self._refresh()

    def strict_call(self) -> None:
        self._strict_times.append(time.monotonic())

    def close(self) -> None:
        self._refresh()
        self._bar.stop()


def make_progress(
    *, mode: str, quiet: bool, logger: logging.Logger, strict_rps: float, interval_s: float
) -> Progress:
    if quiet or mode == "none":
        return NoProgress()
    if mode == "bar" or (mode == "auto" and sys.stderr.isatty()):
        return BarProgress(strict_rps)
    return LogProgress(strict_rps, logger, interval_s)
