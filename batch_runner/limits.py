"""Rate limiting per Rye tier: Strict (createCart, submitCart) and Default (polls).

Owns the client's side of the budget: one aiolimiter bucket per tier, a priority gate so a cart
already created is submitted before a new one is created, pauses after a 429 or an exhausted
window, and learning from the API's answers whether createCart and submitCart share one Strict
bucket. It starts from the safe assumption (shared) and splits only on proof: a *probe pair*, a
createCart and a submitCart let through together, both answered with the bucket still full
(or, at a capacity of one, both accepted) cannot have come from one bucket; a 429 in a pair
means one bucket. An inconclusive pair decides nothing; another follows PROBE_INTERVAL_S later.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import anyio
from aiolimiter import AsyncLimiter

from batch_runner.core.backoff import reset_after_s

#: Run slightly under the configured rate so that arrival jitter never drains the server's bucket.
RATE_SAFETY = 0.98
#: Seconds between probe pairs while sharing is unknown. A probe costs nothing when the buckets
#: are separate or hold two tokens, and one 429 at a shared capacity of one (which settles it).
PROBE_INTERVAL_S = 1.0


class Tier(StrEnum):
    STRICT = "Strict"
    DEFAULT = "Default"


STRICT_OPERATIONS = frozenset({"createCart", "submitCart"})
#: Lower runs first: submitting a cart already created frees an order sooner than creating one.
PRIORITY = {"submitCart": 0, "createCart": 1}


def tier_of(operation: str) -> Tier:
    return Tier.STRICT if operation in STRICT_OPERATIONS else Tier.DEFAULT


def _limiter(rps: float) -> AsyncLimiter:
    rate = rps * RATE_SAFETY
    capacity = max(1.0, rate)  # one second's worth, as the server sizes its bucket
    return AsyncLimiter(capacity, capacity / rate)


@dataclass(slots=True)
class _Waiter:
    priority: int
    seq: int
    operation: str
    event: anyio.Event = field(default_factory=anyio.Event)
    cancelled: bool = False
    probe: int | None = None
    released: bool = False  #: sharing was disproved while it waited: use its own bucket

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.seq) < (other.priority, other.seq)


@dataclass(frozen=True, slots=True)
class Ticket:
    """Permission to send one request; `probe` names the probe pair it belongs to, if any."""

    operation: str
    probe: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitStats:
    strict_requests: int
    default_requests: int
    rate_limited: int
    strict_shared: bool | None  #: None while not yet learned


class TierLimits:
    """Token buckets for both tiers. Create inside the running event loop."""

    def __init__(self, *, strict_rps: float, default_rps: float) -> None:
        self._strict_rps = strict_rps
        self._shared = _limiter(strict_rps)
        self._per_op: dict[str, AsyncLimiter] = {}
        self._default = _limiter(default_rps)
        self._paused_until = {Tier.STRICT: 0.0, Tier.DEFAULT: 0.0}
        self._heap: list[_Waiter] = []
        self._busy = False
        self._seq = itertools.count()
        self._strict_shared: bool | None = None
        self._probes = 0
        self._next_probe_at = 0.0
        self._debt = 0  #: tokens taken by probe partners, repaid by the next grants
        self._probe_answers: dict[int, list[tuple[int, int | None, int | None]]] = {}
        self._counts = {Tier.STRICT: 0, Tier.DEFAULT: 0}
        self._rate_limited = 0

    def __repr__(self) -> str:
        return (
            f"<TierLimits strict_rps={self._strict_rps} shared={self._strict_shared} "
            f"waiting={len(self._heap)} busy={self._busy}>"
        )

    def statistics(self) -> LimitStats:
        return LimitStats(
            strict_requests=self._counts[Tier.STRICT],
            default_requests=self._counts[Tier.DEFAULT],
            rate_limited=self._rate_limited,
            strict_shared=self._strict_shared,
        )

    async def acquire(self, operation: str) -> Ticket:
        """Wait until `operation` may be sent."""
        tier = tier_of(operation)
        await self._wait_pause(tier)
        ticket = Ticket(operation)
        if tier is Tier.DEFAULT:
            await self._default.acquire()
        elif self._strict_shared is False:
            await self._per_op.setdefault(operation, _limiter(self._strict_rps)).acquire()
        else:
            ticket = await self._acquire_strict_in_turn(operation)
        self._counts[tier] += 1
        return ticket

    async def _wait_pause(self, tier: Tier) -> None:
        # A loop, not an Event: a 429 that arrives while we sleep may push the pause further.
        while (left := self._paused_until[tier] - time.monotonic()) > 0:  # noqa: ASYNC110
            await anyio.sleep(left)

    async def _acquire_strict_in_turn(self, operation: str) -> Ticket:
        waiter = _Waiter(PRIORITY.get(operation, 1), next(self._seq), operation)
        heapq.heappush(self._heap, waiter)
        self._wake_next()
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.event.is_set() and waiter.probe is None and not waiter.released:
                self._busy = False
                self._wake_next()
            waiter.cancelled = True
            raise
        if waiter.probe is not None:
            return Ticket(operation, waiter.probe)
        if waiter.released:
            await self._wait_pause(Tier.STRICT)
            await self._per_op.setdefault(operation, _limiter(self._strict_rps)).acquire()
            return Ticket(operation)
        try:
            while self._debt:
                await self._shared.acquire()
                self._debt -= 1
            await self._shared.acquire()
            await self._wait_pause(Tier.STRICT)
        finally:
            self._busy = False
        probe = self._start_probe(operation)
        self._wake_next()
        return Ticket(operation, probe)

    def _wake_next(self) -> None:
        while not self._busy and self._heap:
            waiter = heapq.heappop(self._heap)
            if not waiter.cancelled:
                self._busy = True
                waiter.event.set()

    def _start_probe(self, granted: str) -> int | None:
        """While sharing is unknown, let one waiter of the other operation go along with this one."""
        now = time.monotonic()
        if self._strict_shared is not None or now < self._next_probe_at:
            return None
        partner = next(
            (w for w in self._heap if not w.cancelled and w.operation != granted), None
        )
        if partner is None:
            return None
        self._probes += 1
        self._next_probe_at = now + PROBE_INTERVAL_S
        self._debt += 1
        partner.cancelled = True  # leaves the heap lazily; it runs now, outside the bucket
        partner.probe = self._probes
        self._probe_answers[self._probes] = []
        partner.event.set()
        return self._probes

    def observe(
        self, ticket: Ticket, status: int, headers: Mapping[str, str], *, now_unix: float
    ) -> float:
        """Learn from one answer's Ratelimit-* headers; returns seconds to wait when rate limited."""
        tier = tier_of(ticket.operation)
        reset = reset_after_s(headers.get("Ratelimit-Reset"), now_unix=now_unix)
        remaining = _as_int(headers.get("Ratelimit-Remaining"))
        wait_s = 0.0
        if status == 429:
            self._rate_limited += 1
            rps = self._strict_rps if tier is Tier.STRICT else 10.0
            wait_s = max(reset if reset is not None else 1.0, 1.0 / rps)
        elif remaining == 0 and reset is not None:
            wait_s = min(reset, 1.0)
        if wait_s:
            self._paused_until[tier] = max(self._paused_until[tier], time.monotonic() + wait_s)
        if ticket.probe is not None:
            self._learn_from_probe(ticket.probe, status, remaining, headers)
        return wait_s

    def _release_waiters(self) -> None:
        """Send every queued waiter to its own operation's bucket, so the shared gate drains now
        instead of adding its rate on top of the per-operation buckets."""
        for waiter in self._heap:
            if not waiter.cancelled:
                waiter.released = True
                waiter.cancelled = True  # leaves the heap; its event is set below
                waiter.event.set()
        self._heap.clear()

    def _learn_from_probe(
        self, probe: int, status: int, remaining: int | None, headers: Mapping[str, str]
    ) -> None:
        answers = self._probe_answers.get(probe)
        if answers is None or self._strict_shared is not None:
            return
        answers.append((status, remaining, _as_int(headers.get("Ratelimit-Limit"))))
        if len(answers) < 2:
            return
        del self._probe_answers[probe]
        if any(status == 429 for status, _, _ in answers):
            self._strict_shared = True
        elif all(_bucket_full(remaining, limit) for _, remaining, limit in answers):
            self._strict_shared = False
            # The new per-operation buckets start full and would burst into server buckets that
            # the shared phase left low: wait one window first, so theirs are full too.
            window_s = max(1.0, self._strict_rps * RATE_SAFETY) / (self._strict_rps * RATE_SAFETY)
            self._paused_until[Tier.STRICT] = max(self._paused_until[Tier.STRICT],
                                                  time.monotonic() + window_s)
            self._release_waiters()
        # Otherwise inconclusive (a bucket was not full, e.g. right after the start-up burst):
        # keep acting as if shared and probe again later.


def _bucket_full(remaining: int | None, limit: int | None) -> bool:
    """After a request, a bucket that was full shows limit-1 (a capacity of one shows 0)."""
    if remaining is None or limit is None:
        return False
    return remaining >= limit - 1


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
