"""May one more request go to a server bucket now? Decided from its answers alone. Pure.

A server may count a tier's requests with a token bucket or in fixed windows aligned to
wall-clock seconds (`Shape`), and the runner is not told which. Each answer's
`Ratelimit-Remaining` is a *view* of the bucket. From the latest view and the requests sent
since (the *log*), a lower bound on the room left is computed under every shape still possible;
a request goes only when each of them has room for it, so the runner never needs to guess:

- token bucket: the level is at least the view's remaining, refilled at the rate since its answer
  came, less one token for every request that may have been processed after it. Those takes are
  placed as late as they could have happened (the worst case for a capped refill).
- fixed window: the count in the current window is at most the view's (limit less remaining, if
  the view may have been counted in this window) plus every request that may be counted in it
  after the view; otherwise every request of ours that may be counted in it.

Time is wall-clock seconds, passed in by the caller. Windows last `window_s(rps)` (1 s, or 1/rps
below one request a second) and start where `Windows` says: on our clock's whole seconds to
within ALIGN_MARGIN_S until the server's own clock has been learned (core/window_phase.py).
Wherever a window may start inside an interval, a request there is counted in both windows.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: While the shape is unknown, a window's last request goes this many tokens' time after the one
#: before it (see _window_wait), in buckets of at least this capacity.
PROBE_GAP_TOKENS = 3.0
PROBE_MIN_CAPACITY = 4
#: With fixed windows whose start is known only within a span wider than this, the window's
#: last request probes where the next one starts (see _window_wait).
PHASE_PROBE_SPREAD_S = 0.025
#: Until learned otherwise, a server's windows start this close to our clock's whole seconds.
ALIGN_MARGIN_S = 0.01


class Shape(StrEnum):
    UNKNOWN = "unknown"  #: either shape: a request must fit both
    TOKEN_BUCKET = "token-bucket"
    FIXED_WINDOW = "fixed-window"


@dataclass(slots=True)
class Sent:
    """One request of ours, from sending until its answer (or its failure) came back."""

    serial: int
    operation: str
    sent: float
    received: float | None = None  #: None while in flight
    seq: int = 0  #: how many of the tier's requests were sent before it
    in_flight_before: int = 0  #: the tier's requests in flight when it was sent


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """What one answer said about its bucket. A 429 is a view of an empty bucket."""

    serial: int
    operation: str
    sent: float
    received: float
    limited: bool
    remaining: int  #: 0 for a 429
    limit: int | None
    seq: int = 0  #: its request's Sent.seq
    in_flight_before: int = 0  #: its request's Sent.in_flight_before


def window_s(rps: float) -> float:
    return 1.0 if rps >= 1 else 1.0 / rps


@dataclass(frozen=True, slots=True)
class Windows:
    """Where a server's fixed windows may start on our clock: at `offset + k x length` for one
    offset somewhere in [lo, hi] (the server's clock against ours), the same for every k."""

    length: float
    lo: float = -ALIGN_MARGIN_S
    hi: float = ALIGN_MARGIN_S
    #: False: the span is only assumed; each window's first request then goes alone, and its
    #: answer shows the server's count before the rest of the window's requests follow.
    known: bool = True

    @classmethod
    def aligned(cls, rps: float) -> Windows:
        return cls(window_s(rps))

    @property
    def spread(self) -> float:
        return self.hi - self.lo

    def start(self, t: float) -> float:
        """The start of the window holding `t` if windows start at offset `hi`: a window's
        latest possible end is then `start + length`, and it may have begun as early as
        `start - spread` (callers count from there)."""
        return math.floor((t - self.hi) / self.length) * self.length + self.hi

    def surely_one(self, first: float, last: float) -> bool:
        """No window can start in (first, last]: both instants are in the same window."""
        return last < self.start(first) + self.length - self.spread


def capacity_of(view: View | None, rps: float) -> int:
    """One second's worth at the configured rate, or less if the server says its limit is lower
    (never more: a user who set a lower rate may be leaving the rest to someone else)."""
    configured = max(1, round(rps))
    if view is not None and view.limit is not None and view.limit > 0:
        return min(view.limit, configured)
    return configured


def _remaining(view: View, capacity: int) -> int:
    """The view's remaining, within the capacity we allow ourselves (its own request took one)."""
    return 0 if view.limited else min(view.remaining, capacity - 1)


def may_follow(entry: Sent, view: View) -> bool:
    """The entry may have been processed after the view's request (so the view does not show it)."""
    return entry.serial != view.serial and (entry.received is None or entry.received > view.sent)


def token_room(view: View, log: Sequence[Sent], *, counts: Collection[str], now: float,
               rps: float) -> float:
    """Lowest level the bucket can hold now, if it is a token bucket the view is of."""
    capacity = capacity_of(view, rps)
    takes = sorted(
        max(view.received, now if e.received is None else e.received)
        for e in log if e.operation in counts and may_follow(e, view)
    )
    level, at = float(_remaining(view, capacity)), view.received
    for t in takes:
        level = min(capacity, level + rps * (t - at)) - 1.0
        at = t
    return min(capacity, level + rps * max(0.0, now - at))


def window_count(view: View | None, log: Sequence[Sent], *, counts: Collection[str], now: float,
                 rps: float, windows: Windows) -> int:
    """Most requests the current window can have counted, if the bucket is a fixed window."""
    start = windows.start(now)
    end = start + windows.length
    earliest = max(start - windows.spread, now - windows.length)  # it may have started this early

    def in_window(e: Sent) -> bool:
        return e.sent < end and (e.received is None or e.received >= earliest)

    if view is not None and view.received >= earliest and view.sent < end:
        capacity = capacity_of(view, rps)
        base = capacity - _remaining(view, capacity)
        return base + sum(1 for e in log if e.operation in counts and may_follow(e, view)
                          and in_window(e))
    return sum(1 for e in log if e.operation in counts and in_window(e))


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One way the server may count the request about to go: the views that bound its bucket
    under it (each a valid bound, so the tightest is used), and the operations drawing from it."""

    views: Sequence[View]
    counts: Collection[str]


def wait_before_send(*, hypotheses: Sequence[Hypothesis], log: Sequence[Sent], now: float,
                     rps: float, shape: Shape, guard_s: float,
                     windows: Windows | None = None) -> float | None:
    """Seconds until one more request fits under every hypothesis and every shape still
    possible: 0.0 now, None when only an answer to a request in flight can make room.

    A hypothesis without views sets no bound (the gentle start sends one request to learn it).
    `guard_s`: no request goes this close to a window's latest possible end. `windows`: where
    the server's windows start (default: on our whole seconds).
    """
    windows = windows or Windows.aligned(rps)
    waits: list[float | None] = [0.0]
    for hypothesis in hypotheses:
        if not hypothesis.views:
            continue
        if shape is not Shape.FIXED_WINDOW:
            waits.append(_token_wait(hypothesis, log, now=now, rps=rps))
        if shape is not Shape.TOKEN_BUCKET:
            waits.append(_window_wait(hypothesis, log, now=now, rps=rps, guard_s=guard_s,
                                      shape=shape, windows=windows))
    if any(w is None for w in waits):
        return None
    return max(w for w in waits if w is not None)


def room_is_plain(*, hypotheses: Sequence[Hypothesis], seq_now: int, now: float, rps: float,
                  shape: Shape, guard_s: float, windows: Windows | None = None) -> bool:
    """A cheap check, true only when `wait_before_send` would say 0.0: each hypothesis' latest
    view, less every request of the tier sent after it or in flight when it was sent, still has
    room under every shape, away from window edges and the shape probe. Keeps the decision
    O(1) when the bucket is far from empty (high rates), the full count runs otherwise."""
    windows = windows or Windows.aligned(rps)
    start = windows.start(now)
    end = start + windows.length
    for hypothesis in hypotheses:
        if not hypothesis.views:
            continue
        view = hypothesis.views[-1]
        capacity = capacity_of(view, rps)
        after = seq_now - view.seq - 1 + view.in_flight_before
        if shape is not Shape.FIXED_WINDOW:
            level = min(capacity, _remaining(view, capacity) + rps * max(0.0, now - view.received))
            if level - after < 1.0:
                return False
        if shape is not Shape.TOKEN_BUCKET:
            if view.received < start or view.sent >= end or now >= end - guard_s:
                return False
            if capacity - _remaining(view, capacity) + after >= capacity - 1:
                return False
    return True


def _token_wait(hypothesis: Hypothesis, log: Sequence[Sent], *, now: float,
                rps: float) -> float | None:
    counts = hypothesis.counts
    room = max(token_room(v, log, counts=counts, now=now, rps=rps) for v in hypothesis.views)
    if room >= 1.0:
        return 0.0
    in_flight = sum(1 for e in log if e.operation in counts and e.received is None)
    if capacity_of(hypothesis.views[-1], rps) - in_flight < 1.0:
        return None  # full only once answers come back
    return (1.0 - room) / rps


def _window_wait(hypothesis: Hypothesis, log: Sequence[Sent], *, now: float, rps: float,
                 guard_s: float, shape: Shape, windows: Windows) -> float | None:
    start = windows.start(now)
    end = start + windows.length
    if end - now <= guard_s:
        return end - now
    counts = hypothesis.counts
    if not windows.known and _first_of_a_new_window(hypothesis, log, start=start):
        return None  # this window's first request is out: its answer shows the server's count
    count = min(window_count(v, log, counts=counts, now=now, rps=rps, windows=windows)
                for v in hypothesis.views)
    capacity = capacity_of(hypothesis.views[-1], rps)
    if count >= capacity:
        return end - now
    if (shape is Shape.FIXED_WINDOW and count == capacity - 1
            and windows.spread > PHASE_PROBE_SPREAD_S):
        # The window's last request goes in the middle of the span where the next window may
        # start: whichever window counts it, it fits, and its answer halves that span
        # (core/window_phase.py), so the windows' real start is found within a few seconds.
        middle = end - windows.spread / 2
        if now < middle - guard_s:
            return middle - now
    if shape is Shape.UNKNOWN and count == capacity - 1 and capacity >= PROBE_MIN_CAPACITY:
        # The window's last request waits a little after the one before it: a token bucket
        # then shows room regained within the window, and the next window's first answer
        # shows more room back than a bucket could refill so soon (limiter_shape).
        last = max((e.sent for e in log if e.operation in counts), default=now)
        ready = last + PROBE_GAP_TOKENS / rps
        if now < ready and end - ready > guard_s:
            return ready - now
    return 0.0


def _first_of_a_new_window(hypothesis: Hypothesis, log: Sequence[Sent], *, start: float) -> bool:
    """Answers came in an earlier (assumed) window, none yet in this one, and a request sent in
    this one is out. (A run's first window needs no such care: the gentle start is one.)"""
    views = hypothesis.views
    return (any(v.received < start for v in views) and not any(v.received >= start for v in views)
            and any(e.operation in hypothesis.counts and e.received is None and e.sent >= start
                    for e in log))


@dataclass(slots=True)
class ClientBucket:
    """Our own pace: never faster than the configured rate (bursts of one second's worth), whatever
    room the server shows. Starts full at `stamp`."""

    rps: float
    stamp: float
    level: float = -1.0  #: set to the capacity on creation

    def __post_init__(self) -> None:
        if self.level < 0:
            self.level = float(max(1, round(self.rps)))

    def _level(self, now: float) -> float:
        return min(float(max(1, round(self.rps))), self.level + self.rps * max(0.0, now - self.stamp))

    def wait_s(self, now: float) -> float:
        return max(0.0, (1.0 - self._level(now)) / self.rps)

    def take(self, now: float) -> None:
        self.level = self._level(now) - 1.0
        self.stamp = now
