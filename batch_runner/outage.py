"""The outage watch: the run's one gate to the API, its breaker, and the outage budget.

Owns the I/O around `core.breaker`: every request the client sends first passes `admit()`,
which waits while the breaker is open (or while another request probes), so during an outage
the whole run sends one probe at a time at growing intervals instead of every cart flow
retrying on its own schedule. The client reports each request's fate (`answered`, `failed`).

`watch()` runs beside the orders: within a second of the breaker opening it logs and shows
"API unreachable since 02:14:07 (last error: ...)", says when the API answers again, and when
nothing has answered for the whole outage budget it calls `on_exhausted` (the runner stops,
journaling what is in flight) and shuts the gate. A request that would pass a shut gate raises
GateClosed instead: it was never sent, and the order is left for the next run to resume.

It must not decide anything about orders: it only holds requests back.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import anyio

from batch_runner.core.breaker import (
    Breaker,
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    Go,
    policy_for_budget,
)
from batch_runner.core.deadline import format_duration
from batch_runner.core.stop import StopKind, StopReason

log = logging.getLogger("batch_runner")

#: How often the watch looks at the breaker: the outage is reported within this long.
TICK_S = 1.0
#: While the API stays away, the unreachable line is logged again this often.
REMIND_EVERY_S = 60.0


class GateClosed(Exception):
    """The run is stopping: this request was not sent (nothing to journal as sent)."""


@dataclass(frozen=True, slots=True)
class Permit:
    probe: bool


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


class OutageWatch:
    """Create inside the running event loop; one per run, shared by every request."""

    def __init__(
        self,
        *,
        budget_s: float,
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.time,
        on_exhausted: Callable[[StopReason], None] = lambda reason: None,
        on_notice: Callable[[str | None], None] = lambda text: None,
    ) -> None:
        self.breaker = Breaker(policy or policy_for_budget(budget_s))
        self.budget_s = budget_s
        self.clock = clock
        self.on_exhausted = on_exhausted
        self.on_notice = on_notice
        self._changed = anyio.Event()
        self._shut = False
        self._refused: frozenset[str] = frozenset()
        self._held: set[tuple[str, anyio.CancelScope]] = set()
        self._reported_at: float | None = None

    def __repr__(self) -> str:
        return f"<OutageWatch {self.breaker!r} shut={self._shut}>"

    # --- the gate (called by the client) ----------------------------------------------------

    async def admit(self, operation: str) -> Permit:
        """Wait until a request may be sent. Raises GateClosed once the run is stopping or
        `operation` is refused (the deadline: no new createCart or submitCart)."""
        while True:
            self.check_open(operation)
            decision = self.breaker.admit(self.clock())
            if isinstance(decision, Go):
                return Permit(decision.probe)
            changed = self._changed
            with anyio.move_on_after(math.inf if decision.after_s is None else decision.after_s):
                await changed.wait()

    def answering(self) -> bool:
        """The last thing heard from the API was an answer (the breaker is closed)."""
        return self.breaker.state is BreakerState.CLOSED

    async def wait_changed(self) -> None:
        """Until the next request's fate is known (or the gate shuts: GateClosed)."""
        if self._shut:
            raise GateClosed
        await self._changed.wait()
        if self._shut:
            raise GateClosed

    def check_open(self, operation: str) -> None:
        if self._shut or operation in self._refused:
            raise GateClosed

    @contextlib.contextmanager
    def holding(self, operation: str) -> Iterator[anyio.CancelScope]:
        """A wait after the gate (the rate limiter's queue) that refuse() and shut() cut short:
        the caller checks `cancelled_caught` on the scope it gets."""
        scope = anyio.CancelScope()
        entry = (operation, scope)
        self._held.add(entry)
        try:
            with scope:
                yield scope
        finally:
            self._held.discard(entry)

    def answered(self, permit: Permit) -> None:
        self.breaker.answered(probe=permit.probe)
        if self._reported_at is not None:
            self.check()  # say at once that it answers again, not at the next tick
        self._wake()

    def failed(self, permit: Permit, reason: str) -> None:
        self.breaker.failed(self.clock(), reason, probe=permit.probe)
        self._wake()

    def abandoned(self, permit: Permit) -> None:
        self.breaker.abandoned(probe=permit.probe)
        self._wake()

    def shut(self) -> None:
        """No request passes from now on (the run is stopping)."""
        self._shut = True
        self._cut({operation for operation, _ in self._held})

    def refuse(self, operations: frozenset[str]) -> None:
        """No request of these operations passes from now on; the others still do."""
        self._refused |= operations
        self._cut(operations)

    def _cut(self, operations: set[str] | frozenset[str]) -> None:
        for operation, scope in list(self._held):
            if operation in operations:
                scope.cancel()
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def poke(self) -> None:
        """Wake whoever waits for a change (an order ended: the feeder may start the next)."""
        self._wake()

    # --- the watch (a task beside the orders) -----------------------------------------------

    def notice(self) -> str | None:
        """'API unreachable since 02:14:07 (last error: ...)', or None while it answers."""
        snap = self.breaker.statistics()
        if not self.breaker.unreachable() or snap.down_since is None:
            return None
        return f"API unreachable since {clock_text(snap.down_since)} (last error: {snap.last_error})"

    def statistics(self) -> BreakerSnapshot:
        return self.breaker.statistics()

    async def watch(self) -> None:
        """Report outages as they start and end; stop the run when one outlasts the budget."""
        while not self._shut:
            self.check()
            await anyio.sleep(TICK_S)

    def check(self) -> None:
        """One look at the breaker: report, remind, recover, or stop at the budget."""
        now = self.clock()
        text = self.notice()
        if text is None:
            if self._reported_at is not None:
                self._reported_at = None
                log.warning("API reachable again; the run goes on")
                self.on_notice(None)
            return
        down_s = self.breaker.down_for(now)
        if down_s >= self.budget_s:
            self._exhausted(text, down_s)
            return
        if self._reported_at is None or now - self._reported_at >= REMIND_EVERY_S:
            first = self._reported_at is None
            self._reported_at = now
            log.warning("%s; %s one probe at a time; the run stops if nothing answers for %s "
                        "(--outage-budget)", text, "waiting," if first else "still waiting,",
                        format_duration(self.budget_s))
            self.on_notice(text)

    def _exhausted(self, text: str, down_s: float) -> None:
        snap = self.breaker.statistics()
        message = (f"{text}: nothing answered for {format_duration(down_s)} "
                   f"(--outage-budget {format_duration(self.budget_s)}, {snap.failures} failed "
                   "attempts). The run stopped; what was in flight is journaled. When the API is "
                   "reachable again, rerun the same command to resume.")
        log.error("%s", message)
        self.on_notice(text)
        self.on_exhausted(StopReason(kind=StopKind.OUTAGE, message=message))
        self.shut()
