"""The real runner against the simulator's limiter shapes: every order placed once, 429s bounded.

Counts, never timing: how many 429s the server gave, how many Rye orders each product got.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import aiohttp
import orjson
import pytest

from batch_runner import queries
from batch_runner.core.model import OrderStatus
from batch_runner.simulator import SimConfig, Simulator, running_simulator
from tests.pipeline.conftest import order, run, settings_for, write_jsonl

RPS = 20.0


def config(limiter: str, *, shared: bool) -> SimConfig:
    return SimConfig(profile="happy", seed=3, start_delay_s=0.05, placement_delay_s=0.2,
                     strict_rps=RPS, default_rps=500.0, shared_strict=shared, limiter=limiter)


def placed_per_product(sim: Simulator) -> Counter[str]:
    placed: Counter[str] = Counter()
    for rye_order in sim.truth().orders.values():
        if rye_order.status == "SUCCEEDED":
            for _, product_id, _ in rye_order.items:
                placed[product_id] += 1
    return placed


def rate_limited(sim: Simulator) -> int:
    return sum(entry.http_status == 429 for entry in sim.request_log())


def orders(prefix: str, n: int) -> list[dict[str, object]]:
    return [order(f"{prefix}-{i}", ("AMAZON", f"B0{prefix}{i:05d}")) for i in range(n)]


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-operation"])
@pytest.mark.parametrize("limiter", ["token-bucket", "fixed-window"])
async def test_every_order_placed_once_and_429s_bounded(tmp_path: Path, limiter: str,
                                                         shared: bool) -> None:
    """40 orders at the server's own Strict rate, whichever way it counts: all placed once, at
    most two 429s, and one shared bucket is never taken for two."""
    async with running_simulator(config(limiter, shared=shared)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", orders("RL", 40))
        code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=RPS))
        placed = placed_per_product(sim)
        limited = rate_limited(sim)
    stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert code == 0
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * 40
    assert sorted(placed.values()) == [1] * 40
    assert limited <= 2
    assert stats["rate_limited"] == limited
    if shared:
        assert stats["strict_shared"] is not False


@pytest.mark.parametrize("offset", [0.3, -0.45])
async def test_fixed_windows_on_a_server_clock_off_ours_are_found_and_429s_bounded(
    tmp_path: Path, offset: float,
) -> None:
    """The server's windows start tenths of a second off our whole seconds: the runner learns
    where from its answers (core/window_phase.py) instead of bursting into the server's full
    window each second (41 429s per 1,000 Strict calls before). 60 orders, all placed once.

    The sharing is given: learning it reads the first answers against our whole seconds, which a
    clock this far off can mislead into a 429 or two before it is re-checked (bench: skew)."""
    sim_config = replace(config("fixed-window", shared=True), clock_offset_s=offset)
    async with running_simulator(sim_config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", orders("SK", 60))
        code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=RPS,
                                              strict_buckets="shared"))
        placed = placed_per_product(sim)
        limited = rate_limited(sim)
    assert code == 0
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * 60
    assert sorted(placed.values()) == [1] * 60
    assert limited <= 2


@pytest.mark.parametrize("limiter", ["token-bucket", "fixed-window"])
async def test_per_operation_given_uses_both_buckets_from_the_start(tmp_path: Path,
                                                                    limiter: str) -> None:
    """--strict-buckets per-operation: no learning, one bucket each, 429s still bounded."""
    async with running_simulator(config(limiter, shared=False)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", orders("PO", 30))
        code, _ = await run(settings_for(sim, tmp_path, path, strict_rps=RPS,
                                         strict_buckets="per-operation"))
        placed = placed_per_product(sim)
        limited = rate_limited(sim)
    stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert code == 0
    assert sorted(placed.values()) == [1] * 30
    assert stats["strict_shared"] is False
    assert limited <= 2


@pytest.mark.parametrize("limiter", ["token-bucket", "fixed-window"])
async def test_a_run_that_starts_on_a_drained_bucket_learns_before_it_bursts(
    tmp_path: Path, limiter: str
) -> None:
    """Another client (a killed run) has just used the whole Strict budget: the new run sends one
    request, learns, and waits; it does not burst into a wall of 429s."""
    async with running_simulator(config(limiter, shared=True)) as sim:
        async with aiohttp.ClientSession() as session:
            for _ in range(int(RPS) + 2):
                await _drain_strict(session, sim.url)
        before = rate_limited(sim)
        path = write_jsonl(tmp_path / "in.jsonl", orders("DR", 10))
        code, _ = await run(settings_for(sim, tmp_path, path, strict_rps=RPS))
        placed = placed_per_product(sim)
        limited = rate_limited(sim) - before
    assert code == 0
    assert sorted(placed.values()) == [1] * 10
    assert limited <= 1


async def _drain_strict(session: aiohttp.ClientSession, url: str) -> None:
    body = {"query": queries.CREATE_CART, "variables": {"input": {"items": {
        "amazonCartItemsInput": [{"productId": "B0DRAIN", "quantity": 1}]}}}}
    headers = {"Authorization": "Basic c2ltLWtleTo="}
    async with session.post(url, json=body, headers=headers) as resp:
        await resp.read()
