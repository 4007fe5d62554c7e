"""The spend guards end to end: the real runner against the simulator's prices over loopback."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import orjson

from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.simulator import DEMO_SCRIPT, Behaviour, SimConfig, Simulator, running_simulator
from batch_runner.simulator.pricing import SHIPPING, tax, unit_price
from tests.pipeline.conftest import BUYER, SIM_FAST, order, run, settings_for, write_jsonl

A = [f"B0MONEY{n:04d}" for n in range(8)]


def sim_config(**script: Behaviour) -> SimConfig:
    return SimConfig(profile="happy", seed=3, script=script, **SIM_FAST)


def cart_total(product_id: str, quantity: int = 1) -> int:
    """What the simulator charges for a one-item Amazon cart of the test buyer (NY tax)."""
    subtotal = unit_price(product_id, Behaviour.PLACE) * quantity
    return subtotal + SHIPPING["amazon"] + tax(subtotal, BUYER["province_code"])


def placed_total(sim: Simulator) -> int:
    return sum(o.total for o in sim.truth().orders.values() if o.status == "SUCCEEDED")


def operations(sim: Simulator, name: str) -> int:
    return sum(1 for r in sim.request_log() if r.operation == name and r.processed)


async def test_budget_below_the_total_stops_with_exit_3_and_a_rerun_resumes(tmp_path: Path) -> None:
    """Placed total stays within --budget, the run exits 3 naming it; a larger budget finishes
    the rest without creating any cart a second time."""
    totals = [cart_total(p) for p in A]
    budget = sum(totals) // 2
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"M-{n}", ("AMAZON", p)) for n, p in enumerate(A)])
    async with running_simulator(sim_config()) as sim:
        settings = settings_for(sim, tmp_path, path, budget=f"{budget / 100:.2f} USD")
        code, ledger = await run(settings)
        assert code == 3
        assert 0 < placed_total(sim) <= budget
        assert len(ledger) < len(A)  # the rest is left for a rerun
        stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
        assert stats["stop_kind"] == "budget"
        assert stats["stop_reason"].startswith("budget reached: spent ")
        code, ledger = await run(replace(settings, budget=f"{sum(totals) / 100:.2f} USD"))
        assert code == 0
        assert placed_total(sim) == sum(totals)
        assert operations(sim, "createCart") == len(A)  # no cart created twice
    assert {r.status for r in ledger} == {OrderStatus.PLACED}
    assert sorted(c.total for r in ledger for c in r.carts) == sorted(totals)
    out = tmp_path / "out"
    report = (out / "report.md").read_text()
    grand = f"{sum(totals) / 100:,.2f} USD"
    assert f"**Budget: spent {grand} of {grand} (100 %)**" in report
    assert "Most expensive orders" in report
    with (out / "ledger.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(float(r["cart_total"]) for r in rows) == sorted(t / 100 for t in totals)
    assert {r["currency"] for r in rows} == {"USD"}
    assert all(r["order_total"] == r["cart_total"] for r in rows)
    stats = orjson.loads((out / "run_stats.json").read_bytes())
    assert stats["committed"] == {"USD": sum(totals)}
    assert stats["money"] == {"USD": {"priced": sum(totals), "submitted": sum(totals),
                                      "placed": sum(totals), "carts": len(A)}}
    assert stats["budget"] == sum(totals)


async def test_overpriced_item_is_never_submitted(tmp_path: Path) -> None:
    """A scripted price jump ends NEEDS_REVIEW PRICE_ABOVE_LIMIT with the price; no submitCart."""
    config = sim_config(**{A[1]: Behaviour.OVERPRICED})
    path = write_jsonl(tmp_path / "in.jsonl", [order("M-0", ("AMAZON", A[0])),
                                               order("M-1", ("AMAZON", A[1]), ("AMAZON", A[2]))])
    async with running_simulator(config) as sim:
        code, ledger = await run(settings_for(sim, tmp_path, path, max_order_total="250"))
        [over] = [r for r in ledger if r.order_id == "M-1"]
        submitted = {r.cart_id for r in sim.request_log() if r.operation == "submitCart"}
    assert code == 1
    assert over.status is OrderStatus.NEEDS_ATTENTION
    assert {i.outcome for i in over.items} == {ItemOutcome.NEEDS_REVIEW}
    assert {i.reason_code for i in over.items} == {"PRICE_ABOVE_LIMIT"}
    assert "above --max-order-total 250.00 USD" in (over.items[0].reason or "")
    assert over.carts[0].cart_id not in submitted
    assert not over.carts[0].submitted


async def test_estimated_cost_is_read_again_on_the_default_tier(tmp_path: Path) -> None:
    """An estimated or absent cost is read again with getCart until final; the final total counts."""
    config = sim_config(**{A[0]: Behaviour.COST_ESTIMATED_ONCE, A[1]: Behaviour.COST_ABSENT_ONCE})
    path = write_jsonl(tmp_path / "in.jsonl", [order("M-0", ("AMAZON", A[0])),
                                               order("M-1", ("AMAZON", A[1]))])
    async with running_simulator(config) as sim:
        code, ledger = await run(settings_for(sim, tmp_path, path, budget="1000 USD"))
        reads = operations(sim, "getCart")
    assert code == 0
    assert reads == 2
    assert sorted(c.total for r in ledger for c in r.carts) == sorted(cart_total(p) for p in A[:2])


async def test_unknown_price_or_other_currency_is_not_submitted_under_a_budget(tmp_path: Path) -> None:
    """A cost never final is PRICE_UNKNOWN, a EUR cart under a USD budget CURRENCY_MISMATCH."""
    config = sim_config(**{A[0]: Behaviour.COST_NEVER_FINAL, A[1]: Behaviour.FOREIGN_CURRENCY})
    path = write_jsonl(tmp_path / "in.jsonl", [order("M-0", ("AMAZON", A[0])),
                                               order("M-1", ("AMAZON", A[1]))])
    async with running_simulator(config) as sim:
        code, ledger = await run(settings_for(sim, tmp_path, path, budget="1000 USD"))
        submits = operations(sim, "submitCart")
    assert code == 1
    assert submits == 0
    codes = {r.order_id: r.items[0].reason_code for r in ledger}
    assert codes == {"M-0": "PRICE_UNKNOWN", "M-1": "CURRENCY_MISMATCH"}


async def test_a_failed_cart_gives_its_amount_back(tmp_path: Path) -> None:
    """A cart whose order failed with nothing charged frees its reservation for the next cart."""
    config = sim_config(**{A[0]: Behaviour.PLACE_FAIL_FALSE})
    budget = max(cart_total(A[0]), cart_total(A[1])) + 1
    path = write_jsonl(tmp_path / "in.jsonl", [order("M-0", ("AMAZON", A[0])),
                                               order("M-1", ("AMAZON", A[1]))])
    async with running_simulator(config) as sim:
        settings = settings_for(sim, tmp_path, path, budget=f"{budget / 100:.2f} USD",
                                max_in_flight=1)
        code, ledger = await run(settings)
        assert placed_total(sim) == cart_total(A[1])
    assert code == 1
    assert [r.status for r in ledger] == [OrderStatus.FAILED, OrderStatus.PLACED]


async def test_the_sample_under_a_budget_below_its_total_stops_within_it(tmp_path: Path) -> None:
    """sample_orders.csv with --budget below its total: exit 3, the placed total within the budget."""
    sample = Path(__file__).parents[2] / "batch_runner" / "sample_orders.csv"
    config = SimConfig(profile="happy", seed=7, script=DEMO_SCRIPT, **SIM_FAST)
    async with running_simulator(config) as sim:
        code, ledger = await run(settings_for(sim, tmp_path, sample, budget="400 USD"))
        placed = placed_total(sim)
        stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert code == 3
    assert 0 < placed <= 40_000
    assert len(ledger) < 25  # some orders wait for a larger budget
    assert stats["committed"]["USD"] <= 40_000
    assert "budget reached: spent" in stats["stop_reason"]
