"""The circuit breaker that lets the whole run back off as one when the API cannot be reached.

Pure: no clock, no I/O. The caller passes `now` (seconds, any monotonic-enough origin) to every
call and carries out the decision it gets back; `outage.py` is that caller.

Theory of operation. Three states:

    CLOSED     requests go; `failures_to_open` transport failures in a row (no answer between)
               open the breaker.
    OPEN       nothing goes until `reopen_at`; then the next request is the probe (HALF_OPEN).
    HALF_OPEN  one probe is out; everyone else waits for its fate. An answer closes the breaker;
               a failure opens it again for a longer wait (doubling from `first_wait_s` up to
               `max_wait_s`).

The breaker starts HALF_OPEN: nothing has been heard from the API yet, so the first request
finds out alone whether it is there, instead of the whole first burst failing at once.

`down_since` is the time of the first failure with no answer since; an outage budget counts
from it. Any answer, from any request, proves the API reachable and closes the breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"  #: requests go
    OPEN = "open"  #: nothing goes until the next probe is due
    HALF_OPEN = "half-open"  #: one probe is out, the rest wait for it


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    failures_to_open: int = 3  #: transport failures in a row, with no answer between
    first_wait_s: float = 0.5  #: the first wait before a probe
    max_wait_s: float = 30.0  #: waits double up to this


#: Probes per outage budget at the least: a short budget is not spent on two long waits.
PROBES_PER_BUDGET = 20


def policy_for_budget(budget_s: float) -> BreakerPolicy:
    """The default policy, its longest wait shortened so that at least PROBES_PER_BUDGET
    probes fit in the outage budget (`--outage-budget 10m`: a probe every 30 s at most)."""
    default = BreakerPolicy()
    longest = min(default.max_wait_s, max(default.first_wait_s, budget_s / PROBES_PER_BUDGET))
    return BreakerPolicy(failures_to_open=default.failures_to_open,
                         first_wait_s=default.first_wait_s, max_wait_s=longest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Go:
    """Send now. `probe`: this request decides whether the breaker closes."""

    probe: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    """Do not send; ask again after `after_s` at the latest, or when the state changes."""

    after_s: float | None  #: None: until the probe out there comes back


Decision = Go | Wait


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSnapshot:
    state: BreakerState
    down_since: float | None
    last_error: str | None
    probes: int  #: probes sent while the API was away, over the whole run
    failures: int  #: transport failures, over the whole run


class Breaker:
    """One per run. Every method takes `now`; none reads a clock."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.state = BreakerState.HALF_OPEN
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.reopen_at = 0.0
        self._probe_out = False
        self._streak = 0  #: failures in a row while CLOSED
        self._opens = 0  #: consecutive failed probes: the exponent of the wait
        self._probes = 0
        self._failures = 0

    def __repr__(self) -> str:
        return (f"<Breaker {self.state} probe_out={self._probe_out} down_since={self.down_since} "
                f"reopen_at={self.reopen_at}>")

    def admit(self, now: float) -> Decision:
        """May a request be sent now?"""
        if self.state is BreakerState.CLOSED:
            return Go(probe=False)
        if self.state is BreakerState.OPEN:
            if now < self.reopen_at:
                return Wait(after_s=self.reopen_at - now)
            self.state = BreakerState.HALF_OPEN
        if self._probe_out:
            return Wait(after_s=None)
        self._probe_out = True
        if self.down_since is not None:
            self._probes += 1
        return Go(probe=True)

    def answered(self, *, probe: bool) -> None:
        """Any answer came back: the API is reachable."""
        if probe:
            self._probe_out = False
        self.state = BreakerState.CLOSED
        self.down_since = None
        self._streak = 0
        self._opens = 0

    def failed(self, now: float, reason: str, *, probe: bool) -> None:
        """A request failed in transit (no connection, reset, timeout, a gateway's 502-504)."""
        self._failures += 1
        self.last_error = reason
        if probe:
            self._probe_out = False
            if self.state is BreakerState.CLOSED:
                return  # another request's answer came back meanwhile: the API is there
        if self.down_since is None:
            self.down_since = now
        if probe:
            self._open(now)
            return
        if self.state is BreakerState.CLOSED:
            self._streak += 1
            if self._streak >= self.policy.failures_to_open:
                self._open(now)

    def abandoned(self, *, probe: bool) -> None:
        """A request given a Go was never sent (the run is stopping): free the probe slot."""
        if probe:
            self._probe_out = False

    def _open(self, now: float) -> None:
        wait = min(self.policy.max_wait_s, self.policy.first_wait_s * 2 ** self._opens)
        self._opens += 1
        self._streak = 0
        self.state = BreakerState.OPEN
        self.reopen_at = now + wait

    def unreachable(self) -> bool:
        """The API has not answered since the last failure, and the breaker is not closed."""
        return self.down_since is not None and self.state is not BreakerState.CLOSED

    def down_for(self, now: float) -> float:
        """Seconds without an answer since the first failure (0 when the API answers)."""
        return 0.0 if self.down_since is None else max(0.0, now - self.down_since)

    def statistics(self) -> BreakerSnapshot:
        return BreakerSnapshot(state=self.state, down_since=self.down_since,
                               last_error=self.last_error, probes=self._probes,
                               failures=self._failures)
