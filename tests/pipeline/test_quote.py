"""`quote` then `run` into the same --out: priced, never submitted, then submitted without
creating any cart twice; an expired quoted cart is created again, never submitted."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import orjson
import pytest

from batch_runner.core.model import OrderStatus
from batch_runner.quote import run_quote
from batch_runner.simulator import Behaviour, SimConfig, Simulator, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, write_jsonl

A = [f"B0QUOTE{n:04d}" for n in range(5)]
S1 = "44000000007001"


def processed(sim: Simulator, name: str) -> list[str | None]:
    return [r.cart_id for r in sim.request_log() if r.operation == name and r.processed]


def sim_config(**script: Behaviour) -> SimConfig:
    return SimConfig(profile="happy", seed=4, script=script, **SIM_FAST)


async def test_quote_then_run_creates_each_cart_once(tmp_path: Path) -> None:
    """quote creates and prices every cart with no submitCart; run submits those same carts."""
    config = sim_config(**{A[3]: Behaviour.OVERPRICED, A[4]: Behaviour.NOT_FOUND,
                           A[1]: Behaviour.COST_ESTIMATED_ONCE})
    orders = [order("Q-0", ("AMAZON", A[0]), ("SHOPIFY", S1)), order("Q-1", ("AMAZON", A[1])),
              order("Q-2", ("AMAZON", A[2]), ("AMAZON", A[4])), order("Q-3", ("AMAZON", A[3]))]
    path = write_jsonl(tmp_path / "in.jsonl", orders)
    out = tmp_path / "out"
    async with running_simulator(config) as sim:
        settings = settings_for(sim, tmp_path, path, max_order_total="500")
        assert await run_quote(settings) == 1  # A[4] could not be carted
        assert processed(sim, "submitCart") == []
        quoted_carts = processed(sim, "createCart")
        assert len(quoted_carts) == 4
        assert len(processed(sim, "getCart")) == 1  # the estimated one, read until final
        code, ledger = await run(settings)
        assert sorted(processed(sim, "createCart")) == sorted(quoted_carts)  # none created again
        submitted = set(processed(sim, "submitCart"))
    by_id = {r.order_id: r for r in ledger}
    assert code == 1
    assert by_id["Q-0"].status is OrderStatus.PLACED
    assert by_id["Q-1"].status is OrderStatus.PLACED
    assert by_id["Q-2"].status is OrderStatus.PARTIAL  # A[4] PRODUCT_NOT_FOUND
    assert by_id["Q-3"].items[0].reason_code == "PRICE_ABOVE_LIMIT"
    assert by_id["Q-3"].carts[0].cart_id not in submitted
    with (out / "quote.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    carted = {r["product_id"]: r["carted"] for r in rows}
    assert carted[A[4]] == "no"
    assert all(r["currency"] == "USD" and r["estimated"] == "no" for r in rows if r["carted"] == "yes")
    assert [r["above_max_order_total"] for r in rows if r["product_id"] == A[3]] == ["yes"]
    quote_md = (out / "quote.md").read_text()
    assert "| USD | 4 |" in quote_md
    assert "Orders above --max-order-total 500 (1)" in quote_md
    assert f"`{A[4]}` PRODUCT_NOT_FOUND" in quote_md


async def test_an_expired_quoted_cart_is_created_again_and_never_submitted(tmp_path: Path) -> None:
    """A quoted cart older than Rye keeps carts is replaced by a new one at run time."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("Q-0", ("AMAZON", A[0])),
                                               order("Q-1", ("AMAZON", A[1]))])
    journal = tmp_path / "out" / "journal.jsonl"
    async with running_simulator(sim_config()) as sim:
        settings = settings_for(sim, tmp_path, path)
        assert await run_quote(settings) == 0
        [old, fresh] = processed(sim, "createCart")
        eleven_days_ago = time.time() - 11 * 86400
        lines = []
        for raw in journal.read_bytes().splitlines():
            rec = orjson.loads(raw)
            if rec.get("t") == "created" and rec.get("cart") == old:
                rec["ts"] = eleven_days_ago
            lines.append(orjson.dumps(rec))
        journal.write_bytes(b"\n".join(lines) + b"\n")
        code, ledger = await run(settings)
        created = processed(sim, "createCart")
        submitted = processed(sim, "submitCart")
        assert sim.truth().carts[old].submit_requests == 0
    assert code == 0
    assert len(created) == 3
    assert old not in submitted
    assert fresh in submitted
    assert {r.status for r in ledger} == {OrderStatus.PLACED}


async def test_a_cart_rye_calls_expired_at_its_first_submit_is_created_again(tmp_path: Path) -> None:
    """CART_EXPIRED_ERROR on a cart's only submitCart: created again once, then placed."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("Q-0", ("AMAZON", A[0]))])
    async with running_simulator(sim_config()) as sim:
        settings = settings_for(sim, tmp_path, path, budget="1000 USD")
        assert await run_quote(settings) == 0
        [old] = processed(sim, "createCart")
        sim.make_carts_unavailable("CART_EXPIRED_ERROR", [old])
        code, [record] = await run(settings)
        [_, fresh] = processed(sim, "createCart")
        stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
        placed = [o for o in sim.truth().orders.values() if o.status == "SUCCEEDED"]
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert [c.cart_id for c in record.carts] == [fresh]
    assert [o.cart_id for o in placed] == [fresh]
    assert stats["committed"] == {"USD": placed[0].total}  # the expired cart's amount given back


async def test_a_quoted_price_is_read_again_before_a_run_with_a_limit_submits(tmp_path: Path) -> None:
    """The price rose tenfold between quote and run (the simulator restarted on its saved carts
    with the item now overpriced): the run judges the price Rye shows now, not the quote's, and
    submits nothing past --max-order-total."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("Q-0", ("AMAZON", A[0]))])
    state = tmp_path / "sim-state.json"
    async with running_simulator(SimConfig(profile="happy", seed=4, state_path=state, **SIM_FAST)) as sim:
        settings = settings_for(sim, tmp_path, path, max_order_total="500")
        assert await run_quote(settings) == 0
    later = SimConfig(profile="happy", seed=4, state_path=state,
                      script={A[0]: Behaviour.OVERPRICED}, **SIM_FAST)
    async with running_simulator(later) as sim:
        code, [record] = await run(settings_for(sim, tmp_path, path, max_order_total="500"))
        assert processed(sim, "createCart") == []  # the quoted cart, not a new one
        assert processed(sim, "submitCart") == []
    assert code == 1
    assert record.items[0].reason_code == "PRICE_ABOVE_LIMIT"


async def test_a_quote_the_api_never_answered_is_carted_by_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every createCart of the quote gets a proxy's error page (nothing processed): the quote
    records no failure, and the run into the same --out creates the cart and places it.
    (Two attempts instead of twelve, so the backoff between them stays short.)"""
    from batch_runner import cart_flow
    from batch_runner.simulator import Fault

    monkeypatch.setattr(cart_flow, "MAX_CREATE_ATTEMPTS", 2)
    path = write_jsonl(tmp_path / "in.jsonl", [order("Q-0", ("AMAZON", A[0]))])
    config = SimConfig(profile="happy", seed=4, faults={"createCart": [Fault.HTML] * 2},
                       **SIM_FAST)
    async with running_simulator(config) as sim:
        settings = settings_for(sim, tmp_path, path)
        assert await run_quote(settings) == 1  # not carted
        assert processed(sim, "createCart") == []
        code, [record] = await run(settings)
        assert len(processed(sim, "createCart")) == 1
    assert code == 0
    assert record.status is OrderStatus.PLACED
