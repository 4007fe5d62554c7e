"""Rye-style rate tiers for the simulator: token buckets and the Ratelimit-* headers."""

from __future__ import annotations

import math
import time


class Bucket:
    """Capacity = one second's worth (at least one); refills continuously at `rps`."""

    def __init__(self, rps: float, tier: str) -> None:
        self.rps = rps
        self.tier = tier
        self.capacity = max(1.0, float(round(rps)))
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def __repr__(self) -> str:
        return f"<Bucket {self.tier} {self.tokens:.2f}/{self.capacity:g} at {self.rps:g}/s>"

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rps)
        self.stamp = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def headers(self, *, limited: bool, unix: bool) -> dict[str, str]:
        missing = (1.0 - self.tokens) if limited else (self.capacity - self.tokens)
        reset = max(1, math.ceil(missing / self.rps)) if limited else math.ceil(max(0.0, missing) / self.rps)
        if unix:
            reset = int(time.time()) + reset
        return {
            "Ratelimit-Limit": str(int(self.capacity)),
            "Ratelimit-Remaining": str(int(self.tokens)),
            "Ratelimit-Tier": self.tier,
            "Ratelimit-Reset": str(reset),
        }


class Tiers:
    STRICT_OPS = frozenset({"createCart", "submitCart"})

    def __init__(self, *, strict_rps: float, default_rps: float, shared_strict: bool) -> None:
        self.default = Bucket(default_rps, "Default")
        shared = Bucket(strict_rps, "Strict")
        self.strict = {
            "createCart": shared if shared_strict else Bucket(strict_rps, "Strict"),
            "submitCart": shared if shared_strict else Bucket(strict_rps, "Strict"),
        }

    def bucket(self, operation: str) -> Bucket:
        return self.strict.get(operation, self.default)
