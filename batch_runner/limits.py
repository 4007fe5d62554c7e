"""Rate limiting per Rye tier: Strict (createCart, submitCart) and Default (polls).

The I/O shell around `core.rate_budget` (may a request go now?), `core.limiter_shape` (token
bucket or fixed window?) and `core.strict_sharing` (one Strict bucket or one per operation?):
it keeps the log of requests sent and the answers' views, reads the clock, and makes callers
wait their turn. A request goes only when every limiter shape and bucket sharing still possible
has room for it, so nothing is sent that could draw a 429 on what the answers have shown; what
is learned (from answers only one shape or one sharing can give) only lifts constraints.

- Gentle start: an operation with no answer yet in this run (a fresh or resumed run), or whose
  last answer was a 429, has one request in flight at a time until an answer shows its bucket.
- Strict sharing starts as "maybe shared" unless `--strict-buckets` says otherwise; the split is
  made on proof, and undone (re-checked) after a 429 while the shape was learned, not given.
- While sharing is possible, a cart already created is submitted before a new one is created.
- A 429 pauses its bucket until `Ratelimit-Reset` and is resent by the caller.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import anyio

from batch_runner.core import limiter_shape
from batch_runner.core.backoff import reset_after_s
from batch_runner.core.rate_budget import (
    ClientBucket,
    Hypothesis,
    Sent,
    Shape,
    View,
    room_is_plain,
    wait_before_send,
    window_s,
)
from batch_runner.core.strict_sharing import may_prove_separate, proves_separate_views
from batch_runner.core.window_phase import WindowPhase

#: No request goes this close to a fixed window's end (it could be counted in the next one).
WINDOW_GUARD_S = 0.003
#: The longest pause a Ratelimit-Reset may impose (a bad header must not stall the night).
MAX_PAUSE_S = 60.0
#: Views kept per operation to find a pair that proves separate buckets.
VIEWS_KEPT = 48
#: The latest views of a bucket that bound the next request (each is a valid bound; the tightest
#: is used, which within a burst is the one processed first or last), and how old they may be.
VIEWS_USED = 8
VIEW_HORIZON_S = 2.0
DEFAULT_KEY = "Default"


class Tier(StrEnum):
    STRICT = "Strict"
    DEFAULT = "Default"


class StrictBuckets(StrEnum):
    AUTO = "auto"  #: learn from the answers
    SHARED = "shared"  #: createCart and submitCart draw from one bucket
    PER_OPERATION = "per-operation"  #: each has its own


STRICT_OPERATIONS = frozenset({"createCart", "submitCart"})


def tier_of(operation: str) -> Tier:
    return Tier.STRICT if operation in STRICT_OPERATIONS else Tier.DEFAULT


@dataclass(frozen=True, slots=True)
class Ticket:
    """Permission to send one request; hand it back to `finished` and `observe`."""

    operation: str
    serial: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitStats:
    strict_requests: int
    default_requests: int
    rate_limited: int
    strict_shared: bool | None  #: None while not yet learned
    strict_by_operation: dict[str, int]
    strict_shape: str = Shape.UNKNOWN.value


@dataclass(slots=True)
class _Waiter:
    turn: anyio.Event = field(default_factory=anyio.Event)


@dataclass(slots=True)
class _Learned:
    shape: Shape = Shape.UNKNOWN
    contradicted: bool = False


class TierLimits:
    """Both tiers' budgets. Create inside the running event loop."""

    def __init__(self, *, strict_rps: float, default_rps: float,
                 strict_buckets: str = StrictBuckets.AUTO,
                 clock: Callable[[], float] = time.time) -> None:
        self._rps = {Tier.STRICT: strict_rps, Tier.DEFAULT: default_rps}
        self._clock = clock
        self._buckets = StrictBuckets(strict_buckets)
        self._split = self._buckets is StrictBuckets.PER_OPERATION
        self._learned = {Tier.STRICT: _Learned(), Tier.DEFAULT: _Learned()}
        #: Where the server's fixed windows start on our clock (one clock for every bucket).
        self._phase = {tier: WindowPhase(window_s(rps)) for tier, rps in self._rps.items()}
        self._serial = itertools.count(1)
        self._log: dict[Tier, dict[int, Sent]] = {Tier.STRICT: {}, Tier.DEFAULT: {}}
        self._sent_count = {Tier.STRICT: 0, Tier.DEFAULT: 0}
        self._in_flight: dict[str, int] = {}  #: per key (operation, or Default)
        self._views: dict[str, deque[View]] = {}
        self._contact: set[str] = {*STRICT_OPERATIONS, DEFAULT_KEY}  #: no answer seen yet
        self._queues: dict[str, deque[_Waiter]] = {}
        self._paused_until: dict[str, float] = {}
        self._changed = anyio.Event()
        #: Our own pace per bucket: the configured rate is a ceiling even when the server
        #: shows more room (someone else may be meant to use the rest).
        self._own: dict[str, ClientBucket] = {}
        self._by_operation: dict[str, int] = {}
        self._default_requests = 0
        self._rate_limited = 0

    def __repr__(self) -> str:
        waiting = {key: len(q) for key, q in self._queues.items() if q}
        return (f"<TierLimits strict_rps={self._rps[Tier.STRICT]} split={self._split} "
                f"shape={self._learned[Tier.STRICT].shape} waiting={waiting}>")

    def statistics(self) -> LimitStats:
        shared = True if self._buckets is StrictBuckets.SHARED else (False if self._split else None)
        return LimitStats(
            strict_requests=sum(self._by_operation.values()),
            default_requests=self._default_requests,
            rate_limited=self._rate_limited,
            strict_shared=shared,
            strict_by_operation=dict(self._by_operation),
            strict_shape=self._learned[Tier.STRICT].shape.value,
        )

    # --- waiting for a turn ---------------------------------------------------------------

    @staticmethod
    def _key(operation: str) -> str:
        return operation if tier_of(operation) is Tier.STRICT else DEFAULT_KEY

    async def acquire(self, operation: str) -> Ticket:
        """Wait until `operation` may be sent. Call `finished` once its request is over."""
        key = self._key(operation)
        queue = self._queues.setdefault(key, deque())
        waiter = _Waiter()
        queue.append(waiter)
        try:
            if queue[0] is not waiter:
                await waiter.turn.wait()
            while (wait := self._wait_s(key)) != 0.0:
                await self._sleep_or_change(wait, key)
        finally:
            self._leave(queue, waiter)
        return self._send(operation, key)

    def _leave(self, queue: deque[_Waiter], waiter: _Waiter) -> None:
        if queue and queue[0] is waiter:
            queue.popleft()
            if queue:
                queue[0].turn.set()
        else:
            queue.remove(waiter)
        self._poke()

    async def _sleep_or_change(self, wait: float | None, key: str) -> None:
        tier = tier_of(key)
        timeout = wait if wait is not None else 1.0 / self._rps[tier]
        with anyio.move_on_after(max(timeout, 0.0005)):
            await self._changed.wait()

    def _poke(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _send(self, operation: str, key: str) -> Ticket:
        tier = tier_of(operation)
        serial = next(self._serial)
        now = self._clock()
        self._own_bucket(key).take(now)
        in_flight = sum(n for k, n in self._in_flight.items() if tier_of(k) is tier)
        self._log[tier][serial] = Sent(serial, key, now, seq=self._sent_count[tier],
                                       in_flight_before=in_flight)
        self._sent_count[tier] += 1
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        if tier is Tier.STRICT:
            self._by_operation[operation] = self._by_operation.get(operation, 0) + 1
        else:
            self._default_requests += 1
        self._poke()
        return Ticket(operation, serial)

    def finished(self, ticket: Ticket) -> None:
        """The ticket's request is over, answered or not: it is no longer in flight."""
        entry = self._log[tier_of(ticket.operation)].get(ticket.serial)
        if entry is not None and entry.received is None:
            entry.received = self._clock()
            self._in_flight[entry.operation] -= 1
        self._poke()

    # --- the decision ---------------------------------------------------------------------

    def _group(self, key: str) -> str:
        """The bucket of ours `key` draws from: one per server bucket we believe in."""
        if tier_of(key) is Tier.DEFAULT:
            return DEFAULT_KEY
        return key if self._split else Tier.STRICT.value

    def _own_bucket(self, key: str) -> ClientBucket:
        group = self._group(key)
        if group not in self._own:
            self._own[group] = ClientBucket(self._rps[tier_of(key)], self._clock())
        return self._own[group]

    def _counts(self, key: str) -> frozenset[str]:
        if tier_of(key) is Tier.DEFAULT:
            return frozenset({DEFAULT_KEY})
        return frozenset({key}) if self._split else STRICT_OPERATIONS

    def _wait_s(self, key: str) -> float | None:
        """0.0: `key`'s next request may go now; else seconds to wait, None: until an answer."""
        now = self._clock()
        tier = tier_of(key)
        counts = self._counts(key)
        paused = max(self._paused_until.get(k, 0.0) for k in counts)
        if paused > now:
            return paused - now
        log = self._log[tier]
        if key in self._contact and self._in_flight.get(key, 0):
            return None  # gentle start: one at a time until an answer shows the bucket
        if key == "createCart" and not self._split and self._queues.get("submitCart"):
            return None  # submitting a cart already created comes first
        if (own := self._own_bucket(key).wait_s(now)) > 0:
            return own  # never faster than the configured rate, whatever room the server shows
        hypotheses = self._hypotheses(key, now)
        shape, rps = self._learned[tier].shape, self._rps[tier]
        windows = self._phase[tier].windows()
        if room_is_plain(hypotheses=hypotheses, seq_now=self._sent_count[tier], now=now,
                         rps=rps, shape=shape, guard_s=WINDOW_GUARD_S, windows=windows):
            return 0.0
        return wait_before_send(hypotheses=hypotheses, log=list(log.values()), now=now,
                                rps=rps, shape=shape, guard_s=WINDOW_GUARD_S, windows=windows)

    def _hypotheses(self, key: str, now: float) -> list[Hypothesis]:
        """Its own bucket (own views, own requests), and while one Strict bucket for both
        operations is possible, that bucket (every Strict view, every Strict request)."""
        recent = now - self._view_horizon_s(tier_of(key))
        own = _candidates([v for v in self._views.get(key, ()) if v.received >= recent])
        hypotheses = [Hypothesis(own, frozenset({key}) if tier_of(key) is Tier.STRICT else
                                 frozenset({DEFAULT_KEY}))]
        if tier_of(key) is Tier.STRICT and not self._split:
            both = sorted((v for op in STRICT_OPERATIONS for v in self._views.get(op, ())
                           if v.received >= recent), key=lambda v: v.sent)
            hypotheses.append(Hypothesis(_candidates(both), STRICT_OPERATIONS))
        return hypotheses

    # --- learning from answers ------------------------------------------------------------

    def observe(
        self, ticket: Ticket, status: int, headers: Mapping[str, str], *, now_unix: float
    ) -> float:
        """Learn from one answer's Ratelimit-* headers; returns seconds to wait when rate limited."""
        tier = tier_of(ticket.operation)
        key = self._key(ticket.operation)
        entry = self._log[tier].get(ticket.serial)
        remaining = _as_int(headers.get("Ratelimit-Remaining"))
        limit = _as_int(headers.get("Ratelimit-Limit"))
        wait_s = 0.0
        if status == 429:
            self._rate_limited += 1
            reset = reset_after_s(headers.get("Ratelimit-Reset"), now_unix=now_unix)
            wait_s = min(MAX_PAUSE_S, max(reset if reset is not None else 1.0,
                                          1.0 / self._rps[tier]))
            self._after_429(key, wait_s)
        if entry is not None and entry.received is not None and (status == 429 or remaining is not None):
            view = View(serial=entry.serial, operation=key, sent=entry.sent, received=entry.received,
                        limited=status == 429, remaining=0 if status == 429 else max(0, remaining or 0),
                        limit=limit, seq=entry.seq, in_flight_before=entry.in_flight_before)
            self._learn(tier, view)
        elif status != 429 and 200 <= status < 500:
            self._contact.discard(key)  # answered without headers: nothing more to learn
        self._prune(tier)
        self._poke()
        return wait_s

    def _after_429(self, key: str, wait_s: float) -> None:
        """Pause the bucket; this operation goes one at a time again, and what was learned about
        the server (not what the user said) is checked again."""
        now = self._clock()
        for k in self._counts(key):
            self._paused_until[k] = max(self._paused_until.get(k, 0.0), now + wait_s)
        self._contact.add(key)
        tier = tier_of(key)
        self._learned[tier].shape = Shape.UNKNOWN
        self._phase[tier].doubt()
        if tier is Tier.STRICT and self._buckets is StrictBuckets.AUTO and self._split:
            self._split = False
            for op in STRICT_OPERATIONS:
                self._paused_until[op] = max(self._paused_until.get(op, 0.0), now + wait_s)

    def _learn(self, tier: Tier, view: View) -> None:
        views = self._views.setdefault(view.operation, deque(maxlen=VIEWS_KEPT))
        learned = self._learned[tier]
        if views:
            phase = self._phase[tier]
            new = limiter_shape.evidence(views[-1], view, rps=_server_rps(self._rps[tier], view),
                                         windows=phase.windows(),
                                         before=views[-2] if len(views) > 1 else None)
            learned.shape, learned.contradicted = limiter_shape.combine(
                learned.shape, new, contradicted=learned.contradicted)
            if new is Shape.FIXED_WINDOW:  # more room back than a bucket gives: a new window
                first = not phase.learned
                phase.rolled_over(views[-1].sent, view.received)
                if first and learned.shape is not Shape.FIXED_WINDOW:
                    # What was read against our whole seconds (a bucket refilling inside "one
                    # window") is read again against the server's own windows.
                    learned.shape, learned.contradicted = Shape.UNKNOWN, False
            if learned.shape is Shape.FIXED_WINDOW:
                self._learn_phase(tier, views[-1], view)
        if not views or view.sent >= views[-1].sent:
            views.append(view)
        if not view.limited:
            self._contact.discard(view.operation)
        if tier is Tier.STRICT and self._buckets is StrictBuckets.AUTO and not self._split:
            self._check_sharing(view)

    def _learn_phase(self, tier: Tier, before: View, view: View) -> None:
        """Where the windows start, from two answers of one bucket (core/window_phase.py)."""
        if view.limited or view.sent < before.received:
            return
        phase = self._phase[tier]
        if view.remaining > (0 if before.limited else before.remaining):
            phase.rolled_over(before.sent, view.received)  # room back: a new window
        elif view.limit is not None and view.limit <= max(1, round(self._rps[tier])):
            # Only when the bucket is ours alone (its Limit no more than our rate): someone
            # else's requests would look like "more counted than since a new window began".
            others = _others_at_most(before, view, self._sent_count[tier])
            if view.limit - view.remaining > others + 1:  # more counted than since a new start
                phase.stayed(before.received, view.sent)

    def _check_sharing(self, view: View) -> None:
        other = next(iter(STRICT_OPERATIONS - {view.operation}))
        rps = _server_rps(self._rps[Tier.STRICT], view)
        shape = self._learned[Tier.STRICT].shape
        for seen in reversed(self._views.get(other, ())):
            if abs(seen.received - view.received) > 1.0:
                break
            if not may_prove_separate(view, seen, rps=rps, shape=shape):
                continue
            others = _others_at_most(view, seen, self._sent_count[Tier.STRICT])
            if proves_separate_views(view, seen, others=others, rps=rps, shape=shape,
                                     windows=self._phase[Tier.STRICT].windows()):
                self._split = True
                return

    def _view_horizon_s(self, tier: Tier) -> float:
        """How old a view may be and still bound a request: two windows below 0.5/s."""
        return max(VIEW_HORIZON_S, 2.0 * window_s(self._rps[tier]))

    def _prune(self, tier: Tier) -> None:
        """Forget requests no view or window can count any more."""
        log = self._log[tier]
        keys = STRICT_OPERATIONS if tier is Tier.STRICT else {DEFAULT_KEY}
        views = [v[-1] for k in keys if (v := self._views.get(k))]
        if len(views) < len(keys):
            if len(log) > 4096:  # never learned: keep the recent past, and all still in flight
                for serial in sorted(log)[:-2048]:
                    if log[serial].received is not None:
                        del log[serial]
            return
        now = self._clock()
        # Only views young enough to bound a request keep the requests that may follow them: an
        # operation no longer answered must not hold the whole log back.
        recent = now - self._view_horizon_s(tier)
        latest = [v.sent for v in views if v.received >= recent]
        horizon = min([*latest, now - 2.0 - 2.0 * window_s(self._rps[tier])])
        while log:  # oldest first; stops at the first one still needed, amortized O(1)
            first = next(iter(log.values()))
            if first.received is None or first.received >= horizon:
                break
            del log[first.serial]


def _server_rps(configured: float, view: View) -> float:
    """The rate to assume the server refills at when judging what its answers prove: a Limit
    above the configured rate means a faster bucket (one second's worth), and underrating the
    refill would read an ordinary answer as proof."""
    return max(configured, float(view.limit or 0))


def _candidates(views: list[View]) -> list[View]:
    """The views worth bounding the next request with (ordered by sending): the latest, and those
    that showed the most room. Every view is a valid bound; within a burst answered out of
    order the tightest is often not the latest."""
    if len(views) <= 2 * VIEWS_USED:
        return views
    chosen = {v.serial: v for v in views[-VIEWS_USED:]}
    for v in sorted(views, key=lambda v: v.remaining)[-VIEWS_USED:]:
        chosen[v.serial] = v
    return sorted(chosen.values(), key=lambda v: v.sent)


def _others_at_most(a: View, b: View, sent_count: int) -> int:
    """At most how many requests other than a and b were processed between them: every one sent
    after the earlier of the two (up to now, just after both answered), and every one in flight
    when it was sent."""
    earlier = a if a.seq < b.seq else b
    return max(0, sent_count - earlier.seq - 2) + earlier.in_flight_before


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


