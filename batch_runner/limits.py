"""Rate limiting per Rye tier: Strict (createCart, submitCart) and Default (polls).

Owns the client's side of the budget: one aiolimiter bucket per server bucket, a priority gate
so a cart already created is submitted before a new one is created, pauses after a 429 or an
exhausted window (per bucket: a pause of createCart's own bucket does not stop submitCart), and
learning from the API's answers whether createCart and submitCart share one Strict bucket.

It starts from the safe assumption (shared) and splits only on proof (core.strict_sharing): a
*probe pair*, a createCart and a submitCart let through together, whose answers no single bucket
could have given. A probe is sent only when the last answers show enough tokens that it cannot
draw a 429 even from one shared bucket. On the split, each operation's new bucket starts as
full as its last answers showed the server's to be, so the first burst does not meet 429s.
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
from batch_runner.core.strict_sharing import ProbeAnswer, proves_separate

#: At a capacity of one token there is no reserve to absorb arrival jitter: run slightly under
#: the rate instead. Larger buckets run at the full rate, one token short of the server's capacity.
RATE_SAFETY = 0.98
#: After a 429, an answer showing no tokens left pauses its bucket until the reset, for this long:
#: a server with fixed windows refuses anything before the reset. Without a recent 429 the
#: client's own bucket already spaces requests, and waiting out a whole window would idle it.
CAUTIOUS_AFTER_429_S = 60.0
#: Seconds between probe pairs while sharing is unknown, growing to the cap after
#: PROBES_AT_FIRST_INTERVAL pairs that prove nothing (a shared bucket never proves anything).
PROBE_INTERVAL_S = 1.0
PROBE_INTERVAL_CAP_S = 30.0
PROBES_AT_FIRST_INTERVAL = 10
#: Bucket keys: the Default tier, the Strict tier while shared (or not yet known), and each
#: Strict operation once its own bucket is proven.
DEFAULT_KEY = "Default"
SHARED_KEY = "Strict"


class Tier(StrEnum):
    STRICT = "Strict"
    DEFAULT = "Default"


STRICT_OPERATIONS = frozenset({"createCart", "submitCart"})
#: Lower runs first: submitting a cart already created frees an order sooner than creating one.
PRIORITY = {"submitCart": 0, "createCart": 1}


def tier_of(operation: str) -> Tier:
    return Tier.STRICT if operation in STRICT_OPERATIONS else Tier.DEFAULT


def _limiter(rps: float) -> AsyncLimiter:
    capacity, rate = _client_bucket(rps)
    return AsyncLimiter(capacity, capacity / rate)


def _client_bucket(rps: float) -> tuple[float, float]:
    """(capacity, rate) of the client's bucket for a server bucket of one second's worth at rps:
    one token short of it, so the server keeps a token of reserve against arrival jitter."""
    if rps >= 2:
        return rps - 1, rps
    return 1.0, rps * RATE_SAFETY


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
    serial: int = 0  #: Strict tickets are numbered, to count what may overlap a probe pair


@dataclass(slots=True)
class _Probe:
    issued_at: float
    others_in_flight: int  #: Strict requests out when the pair was sent
    serial_after: int  #: the last serial issued with the pair: later ones may overlap it
    answers: list[ProbeAnswer] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Seen:
    """The latest Ratelimit answer for one Strict operation."""

    remaining: int
    limit: int | None
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitStats:
    strict_requests: int
    default_requests: int
    rate_limited: int
    strict_shared: bool | None  #: None while not yet learned
    strict_by_operation: dict[str, int]


class TierLimits:
    """Token buckets for both tiers. Create inside the running event loop."""

    def __init__(self, *, strict_rps: float, default_rps: float) -> None:
        self._strict_rps = strict_rps
        self._shared = _limiter(strict_rps)
        self._per_op: dict[str, AsyncLimiter] = {}
        self._precharge: dict[str, float] = {}  #: tokens a new per-operation bucket starts without
        self._default = _limiter(default_rps)
        self._paused_until: dict[str, float] = {}
        self._heap: list[_Waiter] = []
        self._busy = False
        self._seq = itertools.count()
        self._strict_shared: bool | None = None
        self._probes = 0
        self._next_probe_at = 0.0
        self._debt = 0  #: tokens taken by probe partners, repaid by the next grants
        self._probe_state: dict[int, _Probe] = {}
        self._serial = 0
        self._in_flight: set[int] = set()  #: serials of Strict requests sent, not yet answered
        self._seen: dict[str, _Seen] = {}
        self._default_requests = 0
        self._by_operation: dict[str, int] = {}  #: Strict requests per operation
        self._rate_limited = 0
        self._last_429_at = -CAUTIOUS_AFTER_429_S

    def __repr__(self) -> str:
        return (
            f"<TierLimits strict_rps={self._strict_rps} shared={self._strict_shared} "
            f"waiting={len(self._heap)} busy={self._busy}>"
        )

    def statistics(self) -> LimitStats:
        return LimitStats(
            strict_requests=sum(self._by_operation.values()),
            default_requests=self._default_requests,
            rate_limited=self._rate_limited,
            strict_shared=self._strict_shared,
            strict_by_operation=dict(self._by_operation),
        )

    def _key(self, operation: str) -> str:
        if tier_of(operation) is Tier.DEFAULT:
            return DEFAULT_KEY
        return operation if self._strict_shared is False else SHARED_KEY

    async def acquire(self, operation: str) -> Ticket:
        """Wait until `operation` may be sent. Call `finished` once its request is over."""
        tier = tier_of(operation)
        if tier is Tier.DEFAULT:
            await self._token(self._default, DEFAULT_KEY)
            self._default_requests += 1
            return Ticket(operation)
        if self._strict_shared is False:
            probe = None
            await self._acquire_own_bucket(operation)
        else:
            probe = await self._acquire_strict_in_turn(operation)
        return self._strict_ticket(operation, probe)

    def _strict_ticket(self, operation: str, probe: int | None) -> Ticket:
        self._by_operation[operation] = self._by_operation.get(operation, 0) + 1
        self._serial += 1
        self._in_flight.add(self._serial)
        return Ticket(operation, probe, self._serial)

    def finished(self, ticket: Ticket) -> None:
        """The ticket's request is over, answered or not: it is no longer in flight."""
        self._in_flight.discard(ticket.serial)

    async def _token(self, limiter: AsyncLimiter, key: str) -> None:
        """A token from `limiter`, taken after any pause of bucket `key`. A token taken before a
        pause began is stale: the bucket refills during the pause, so sending on it too would
        burst past the server's capacity. It is dropped and a fresh one taken."""
        while True:
            await self._wait_pause(key)
            await limiter.acquire()
            if self._paused_until.get(key, 0.0) <= time.monotonic():
                return

    async def _wait_pause(self, key: str) -> None:
        # A loop, not an Event: a 429 that arrives while we sleep may push the pause further.
        while (left := self._paused_until.get(key, 0.0) - time.monotonic()) > 0:  # noqa: ASYNC110
            await anyio.sleep(left)

    async def _acquire_own_bucket(self, operation: str) -> None:
        limiter = self._per_op.get(operation)
        if limiter is None:
            limiter = self._per_op[operation] = _limiter(self._strict_rps)
            if (charge := self._precharge.pop(operation, 0.0)) > 0:
                await limiter.acquire(charge)  # a fresh bucket: returns at once, now less full
        await self._token(limiter, operation)

    async def _acquire_strict_in_turn(self, operation: str) -> int | None:
        """Through the shared gate, in priority order. Returns the probe pair it leads, if any."""
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
            return waiter.probe
        if waiter.released:
            await self._acquire_own_bucket(operation)
            return None
        try:
            while self._debt:
                await self._shared.acquire()
                self._debt -= 1
            await self._token(self._shared, SHARED_KEY)
        except BaseException:  # cancelled (the run stops, or refuses this operation)
            self._busy = False
            self._wake_next()  # the next waiter's turn: it may be of an operation still sent
            raise
        self._busy = False
        probe = self._start_probe(operation)
        self._wake_next()
        return probe

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
        if self._tokens_if_shared(now) < 2:
            return None  # the pair could draw a 429 from one shared bucket: not now
        partner = next(
            (w for w in self._heap if not w.cancelled and w.operation != granted), None
        )
        if partner is None:
            return None
        self._probes += 1
        interval = PROBE_INTERVAL_S
        if self._probes > PROBES_AT_FIRST_INTERVAL:
            interval = min(PROBE_INTERVAL_CAP_S,
                           PROBE_INTERVAL_S * 2 ** (self._probes - PROBES_AT_FIRST_INTERVAL))
        self._next_probe_at = now + interval
        self._debt += 1
        partner.cancelled = True  # leaves the heap lazily; it runs now, outside the bucket
        partner.probe = self._probes
        # The two tickets are issued next (this grant, then the partner): serials +1 and +2.
        self._probe_state[self._probes] = _Probe(
            issued_at=now, others_in_flight=len(self._in_flight), serial_after=self._serial + 2,
        )
        partner.event.set()
        return self._probes

    def _tokens_if_shared(self, now: float) -> float:
        """The fewest tokens one shared bucket can hold now, from the latest Strict answer."""
        if not self._seen:
            return 0.0
        latest = max(self._seen.values(), key=lambda seen: seen.at)
        refill = (now - latest.at) * self._strict_rps
        capacity = latest.limit if latest.limit is not None else latest.remaining + refill
        return min(capacity, latest.remaining + refill) - len(self._in_flight)

    def observe(
        self, ticket: Ticket, status: int, headers: Mapping[str, str], *, now_unix: float
    ) -> float:
        """Learn from one answer's Ratelimit-* headers; returns seconds to wait when rate limited."""
        tier = tier_of(ticket.operation)
        reset = reset_after_s(headers.get("Ratelimit-Reset"), now_unix=now_unix)
        remaining = _as_int(headers.get("Ratelimit-Remaining"))
        limit = _as_int(headers.get("Ratelimit-Limit"))
        now = time.monotonic()
        if tier is Tier.STRICT and remaining is not None and status != 429:
            self._seen[ticket.operation] = _Seen(remaining, limit, now)
        wait_s = 0.0
        if status == 429:
            self._rate_limited += 1
            self._last_429_at = now
            rps = self._strict_rps if tier is Tier.STRICT else 10.0
            wait_s = max(reset if reset is not None else 1.0, 1.0 / rps)
        elif remaining == 0 and reset is not None and now - self._last_429_at < CAUTIOUS_AFTER_429_S:
            wait_s = min(reset, 1.0)
        if wait_s:
            key = self._key(ticket.operation)
            self._paused_until[key] = max(self._paused_until.get(key, 0.0), now + wait_s)
        if ticket.probe is not None:
            self._learn_from_probe(ticket.probe, ProbeAnswer(status, remaining, limit), now)
        return wait_s

    def _learn_from_probe(self, probe_id: int, answer: ProbeAnswer, now: float) -> None:
        probe = self._probe_state.get(probe_id)
        if probe is None or self._strict_shared is not None:
            return
        probe.answers.append(answer)
        if len(probe.answers) < 2:
            return
        del self._probe_state[probe_id]
        others = probe.others_in_flight + max(0, self._serial - probe.serial_after)
        refill = (now - probe.issued_at) * self._strict_rps
        if proves_separate(*probe.answers, refill=refill, others=others):
            self._split(now)
        # Otherwise consistent with one bucket: keep acting as if shared and probe again later.

    def _split(self, now: float) -> None:
        """Sharing disproved: each operation gets its own bucket, starting as full as the
        server's last showed (less what is still in flight), and the shared queue is released."""
        self._strict_shared = False
        capacity, _ = _client_bucket(self._strict_rps)
        for operation in STRICT_OPERATIONS:
            seen = self._seen.get(operation)
            if seen is None:
                continue
            level = seen.remaining + (now - seen.at) * self._strict_rps
            # Every request still out may be this operation's (they are not told apart), and one
            # token more for the request that holds the shared gate right now.
            charge = max(0.0, capacity - level) + len(self._in_flight) + 1
            self._precharge[operation] = min(capacity, charge)
        if (paused := self._paused_until.get(SHARED_KEY, 0.0)) > now:
            for operation in STRICT_OPERATIONS:
                self._paused_until[operation] = paused
        self._release_waiters()

    def _release_waiters(self) -> None:
        """Send every queued waiter to its own operation's bucket, so the shared gate drains now
        instead of adding its rate on top of the per-operation buckets."""
        for waiter in self._heap:
            if not waiter.cancelled:
                waiter.released = True
                waiter.cancelled = True  # leaves the heap; its event is set below
                waiter.event.set()
        self._heap.clear()


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
