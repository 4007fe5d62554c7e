"""Rye-style rate tiers for the simulator: token buckets or fixed windows, and the Ratelimit-* headers.

Two shapes a server may count with (`SimConfig.limiter`):

- `token-bucket`: capacity one second's worth (at least one), refilled continuously at `rps`.
- `fixed-window`: at most `limit` requests per window aligned to wall-clock seconds (to multiples
  of 1/rps seconds below 1 request/s), the count starting again at each window's start;
  `Ratelimit-Reset` is the window's end.

`Ratelimit-Reset` is seconds from now (`reset_style` "delta") or a Unix time ("unix").
Both shapes read wall-clock time, so that windows are aligned as a gateway's would be.
"""

from __future__ import annotations

import math
from typing import Protocol

LIMITERS = ("token-bucket", "fixed-window")


class Limiter(Protocol):
    tier: str

    def take(self, now: float) -> bool: ...

    def headers(self, now: float, *, limited: bool, unix: bool) -> dict[str, str]: ...


def _headers(limit: float, remaining: float, tier: str, reset_s: float, now: float, *,
             unix: bool) -> dict[str, str]:
    reset = math.ceil(now + reset_s) if unix else math.ceil(reset_s)
    return {
        "Ratelimit-Limit": str(int(limit)),
        "Ratelimit-Remaining": str(int(remaining)),
        "Ratelimit-Tier": tier,
        "Ratelimit-Reset": str(reset),
    }


class Bucket:
    """Capacity = one second's worth (at least one); refills continuously at `rps`."""

    def __init__(self, rps: float, tier: str) -> None:
        self.rps = rps
        self.tier = tier
        self.capacity = max(1.0, float(round(rps)))
        self.tokens = self.capacity
        self.stamp: float | None = None  #: the server's clock at the last refill (its own, skewed)

    def __repr__(self) -> str:
        return f"<Bucket {self.tier} {self.tokens:.2f}/{self.capacity:g} at {self.rps:g}/s>"

    def _refill(self, now: float) -> None:
        stamp = now if self.stamp is None else self.stamp
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - stamp) * self.rps)
        self.stamp = max(stamp, now)

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def headers(self, now: float, *, limited: bool, unix: bool) -> dict[str, str]:
        """Reset: when one token is back (refused), else when the bucket is full again."""
        missing = (1.0 - self.tokens) if limited else (self.capacity - self.tokens)
        reset_s = max(0.0, missing) / self.rps
        if limited:
            reset_s = max(1.0, reset_s) if not unix else reset_s
        return _headers(self.capacity, self.tokens, self.tier, reset_s, now, unix=unix)


class FixedWindow:
    """At most `limit` requests per window; windows are aligned to wall-clock time."""

    def __init__(self, rps: float, tier: str) -> None:
        self.rps = rps
        self.tier = tier
        self.limit = max(1, round(rps))
        self.window_s = 1.0 if rps >= 1 else 1.0 / rps
        self.index = -1
        self.count = 0

    def __repr__(self) -> str:
        return f"<FixedWindow {self.tier} {self.count}/{self.limit} per {self.window_s:g}s>"

    def _roll(self, now: float) -> None:
        index = math.floor(now / self.window_s)
        if index != self.index:
            self.index, self.count = index, 0

    def take(self, now: float) -> bool:
        self._roll(now)
        if self.count < self.limit:
            self.count += 1
            return True
        return False

    def headers(self, now: float, *, limited: bool, unix: bool) -> dict[str, str]:
        self._roll(now)
        end = (self.index + 1) * self.window_s
        return _headers(self.limit, self.limit - self.count, self.tier, end - now, now, unix=unix)


def make_limiter(kind: str, rps: float, tier: str) -> Limiter:
    if kind == "fixed-window":
        return FixedWindow(rps, tier)
    if kind == "token-bucket":
        return Bucket(rps, tier)
    raise ValueError(f"unknown limiter {kind!r}; choose from {', '.join(LIMITERS)}")


class Tiers:
    STRICT_OPS = frozenset({"createCart", "submitCart"})

    def __init__(self, *, strict_rps: float, default_rps: float, shared_strict: bool,
                 limiter: str = "token-bucket") -> None:
        self.default = make_limiter(limiter, default_rps, "Default")
        shared = make_limiter(limiter, strict_rps, "Strict")
        self.strict = {
            "createCart": shared if shared_strict else make_limiter(limiter, strict_rps, "Strict"),
            "submitCart": shared if shared_strict else make_limiter(limiter, strict_rps, "Strict"),
        }

    def bucket(self, operation: str) -> Limiter:
        return self.strict.get(operation, self.default)
