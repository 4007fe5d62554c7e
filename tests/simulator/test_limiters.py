"""The simulator's two limiter shapes, at given instants: what each accepts and the headers it sends."""

from __future__ import annotations

import aiohttp
import pytest

from batch_runner import queries
from batch_runner.simulator import running_simulator
from batch_runner.simulator.ratelimit import Bucket, FixedWindow, Tiers, make_limiter
from tests.simulator.test_server import BUYER, ITEMS, cfg, post


def test_a_fixed_window_counts_per_wall_clock_second() -> None:
    """Up to the limit in one aligned second, then refused until the next second begins."""
    window = FixedWindow(3.0, "Strict")
    assert [window.take(100.1 + i / 100) for i in range(4)] == [True, True, True, False]
    headers = window.headers(100.5, limited=True, unix=True)
    assert headers["Ratelimit-Remaining"] == "0"
    assert headers["Ratelimit-Reset"] == "101"  # the window's end
    assert window.headers(100.5, limited=True, unix=False)["Ratelimit-Reset"] == "1"
    assert window.take(101.0)  # a new window, whatever was sent just before
    assert window.headers(101.0, limited=False, unix=False)["Ratelimit-Remaining"] == "2"


def test_below_one_request_per_second_a_window_is_one_over_the_rate() -> None:
    """At 0.5/s one request per two-second window aligned to multiples of 2 s."""
    window = FixedWindow(0.5, "Strict")
    assert window.take(10.2)
    assert not window.take(11.9)
    assert window.headers(11.9, limited=True, unix=True)["Ratelimit-Reset"] == "12"
    assert window.take(12.0)


def test_a_token_bucket_refills_continuously() -> None:
    """A drained bucket takes one request again after 1/rate seconds, not at a window's end."""
    bucket = Bucket(4.0, "Strict")
    bucket.stamp = 50.0
    assert [bucket.take(50.0) for _ in range(5)] == [True] * 4 + [False]
    assert not bucket.take(50.2)
    assert bucket.take(50.26)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("kind", ["token-bucket", "fixed-window"])
def test_tiers_share_or_split_the_strict_limiter_of_either_kind(kind: str, shared: bool) -> None:
    tiers = Tiers(strict_rps=5.0, default_rps=50.0, shared_strict=shared, limiter=kind)
    assert (tiers.bucket("createCart") is tiers.bucket("submitCart")) is shared
    assert type(tiers.bucket("createCart")) is type(make_limiter(kind, 1.0, "Strict"))
    assert tiers.bucket("checkoutByCartID").tier == "Default"


def test_an_unknown_limiter_is_refused() -> None:
    with pytest.raises(ValueError, match="fixed-window"):
        make_limiter("leaky", 1.0, "Strict")


async def test_the_fixed_window_server_refuses_past_the_limit_until_the_window_ends() -> None:
    """Over HTTP: per window (named by its Unix Reset) never more than the limit accepted, and a
    429 only in a window already full."""
    config = cfg(strict_rps=2.0, limiter="fixed-window", reset_style="unix")
    async with running_simulator(config) as sim, aiohttp.ClientSession() as session:
        answers = [await post(session, sim.url, queries.CREATE_CART,
                              {"input": {"items": ITEMS, "buyerIdentity": BUYER}}) for _ in range(6)]
    accepted: dict[str, int] = {}
    for status, headers, _ in answers:
        window = headers["Ratelimit-Reset"]
        assert headers["Ratelimit-Limit"] == "2"
        if status == 200:
            accepted[window] = accepted.get(window, 0) + 1
            assert accepted[window] <= 2
        else:
            assert status == 429
            assert accepted.get(window) == 2
    # Six requests in a row fit in three windows only if they took two seconds on loopback.
    assert any(status == 429 for status, _, _ in answers)
