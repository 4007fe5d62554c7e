"""limits.TierLimits keeps only the requests a recent view or window can still count."""

from __future__ import annotations

from batch_runner.limits import Tier, TierLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_an_operation_no_longer_answered_does_not_hold_the_log_back() -> None:
    """One submitCart answer, then 3,000 createCarts answered over 150 s: the log keeps what the
    last seconds need, not every request since that old submit (which made every wait slower)."""
    clock = Clock()
    limits = TierLimits(strict_rps=20.0, default_rps=100.0, strict_buckets="per-operation",
                        clock=clock)
    headers = {"Ratelimit-Limit": "20", "Ratelimit-Remaining": "19", "Ratelimit-Reset": "1"}
    ticket = await limits.acquire("submitCart")
    limits.finished(ticket)
    limits.observe(ticket, 200, headers, now_unix=clock.now)
    for _ in range(3_000):
        clock.now += 0.05
        ticket = await limits.acquire("createCart")
        limits.finished(ticket)
        limits.observe(ticket, 200, headers, now_unix=clock.now)
    assert len(limits._log[Tier.STRICT]) < 200
