"""The night's guards: --deadline and --stop-after-failures, which wind a run down early.

Owns the timers and the bookkeeping around the pure decisions in `core.deadline` and
`core.failure_streak`, and tells the runner what to refuse through two callbacks:

    refuse(reason, operations)  stop sending these operations (new carts, or new carts and
                                submissions); what is in flight goes on
    stop(reason)                stop everything (in-flight requests finish and are journaled)

At the deadline no new cart is created or submitted; carts already submitted are polled until
the grace (--deadline-grace) ends, then the run stops. When one failure code ends N finished
orders in a row, no new cart is created; carts already created go on to their end. Either way
the run exits 3 and the same command resumes what was left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import anyio

from batch_runner.core.deadline import BadDuration, deadline_note, format_duration, parse_deadline
from batch_runner.core.failure_streak import FailureStreak
from batch_runner.core.model import LedgerRecord
from batch_runner.core.stop import StopKind, StopReason
from batch_runner.errors import ConfigError

log = logging.getLogger("batch_runner")

#: Operations refused at the deadline, and after a failure streak.
AT_DEADLINE = frozenset({"createCart", "submitCart"})
AFTER_STREAK = frozenset({"createCart"})


def resolve_deadline(text: str | None, *, now: datetime) -> datetime | None:
    """The --deadline as a moment, counted from `now` (the run's start)."""
    if not text:
        return None
    try:
        # A naive time's astimezone() looks up the system zone's offset for that very moment.
        return parse_deadline(text, now=now, localize=lambda naive: naive.astimezone())
    except BadDuration as exc:
        raise ConfigError(f"--deadline: {exc}") from None


class NightGuards:
    def __init__(
        self,
        *,
        deadline_text: str | None,
        deadline_grace_s: float,
        stop_after_failures: int,
        refuse: Callable[[StopReason, frozenset[str]], None],
        stop: Callable[[StopReason], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        start = datetime.fromtimestamp(clock()).astimezone()
        self.deadline_text = deadline_text
        self.deadline = resolve_deadline(deadline_text, now=start)
        self.grace_s = deadline_grace_s
        self.streak = FailureStreak(stop_after_failures)
        self._refuse = refuse
        self._stop = stop

    def __repr__(self) -> str:
        return f"<NightGuards deadline={self.deadline} {self.streak!r}>"

    def deadline_note(self, orders: int, strict_rps: float) -> tuple[bool, str] | None:
        """(fits, line) on whether the Strict budget for `orders` fits before the deadline."""
        if self.deadline is None:
            return None
        now = datetime.fromtimestamp(self.clock()).astimezone()
        return deadline_note(orders=orders, strict_rps=strict_rps, deadline=self.deadline,
                             now=now, given=self.deadline_text or "")

    def order_finished(self, record: LedgerRecord) -> None:
        trip = self.streak.observe(record.status,
                                   ((item.outcome, item.reason_code) for item in record.items))
        if trip is None:
            return
        reason = StopReason(kind=StopKind.FAILURE_STREAK, message=trip.message)
        log.error("stopping: %s; carts already created go on to their end", trip.message)
        self._refuse(reason, AFTER_STREAK)

    async def watch_deadline(self) -> None:
        """Sleep to the deadline, refuse Strict calls, poll through the grace, then stop."""
        if self.deadline is None:
            return
        await anyio.sleep(max(0.0, self.deadline.timestamp() - self.clock()))
        at = self.deadline.strftime("%Y-%m-%d %H:%M:%S")
        message = (f"deadline {self.deadline_text} ({at}) reached: no new cart was created or "
                   f"submitted after it; carts already submitted were polled for up to "
                   f"{format_duration(self.grace_s)} (--deadline-grace)")
        reason = StopReason(kind=StopKind.DEADLINE, message=message)
        log.warning("deadline %s reached: no new cart is created or submitted; polling what "
                    "was submitted for up to %s", self.deadline_text, format_duration(self.grace_s))
        self._refuse(reason, AT_DEADLINE)
        await anyio.sleep(self.grace_s)
        log.warning("deadline grace over: stopping; a rerun resumes what is unfinished")
        self._stop(reason)
