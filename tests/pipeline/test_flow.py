"""The SPEC's flow and safety rules, one test each, against the simulator over loopback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio

from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.simulator import Behaviour, Fault, SimConfig, running_simulator
from batch_runner.simulator.config import shopify_store
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, strict_requests, write_jsonl

A1, A2, A3 = "B00A2KD8NY", "B07XJ8C8F5", "B08N5WRWNW"
S1, S2 = "44346795295022", "44454219743530"


def sim_config(**script: Behaviour) -> SimConfig:
    return SimConfig(profile="happy", seed=1, script=script, **SIM_FAST)


def submits(sim, cart_id):  # type: ignore[no-untyped-def]
    return sim.truth().carts[cart_id].submit_requests


async def test_one_order_is_created_submitted_polled_placed_and_written(tmp_path: Path) -> None:
    """A plain order goes through one cart and lands in the ledger as PLACED."""
    async with running_simulator(sim_config()) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1, 2))])
        code, ledger = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    [record] = ledger
    assert record.order_id == "A-1"
    assert record.status is OrderStatus.PLACED
    assert [i.outcome for i in record.items] == [ItemOutcome.PLACED]
    assert record.items[0].rye_order_id in truth.orders
    [cart] = record.carts
    assert cart.generation == 0
    assert cart.submitted
    assert truth.carts[cart.cart_id].submit_requests == 1


async def test_retryable_submit_error_resubmits_the_same_cart(tmp_path: Path) -> None:
    """retryable:true on submitCart sends the same cart again, and it is placed."""
    async with running_simulator(sim_config(**{A1: Behaviour.SUBMIT_RETRYABLE_ONCE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert len(truth.carts) == 1
    assert submits(sim, record.carts[0].cart_id) == 2


async def test_non_retryable_submit_error_fails_without_resending(tmp_path: Path) -> None:
    """retryable:false marks the items FAILED with the code and never resends."""
    async with running_simulator(sim_config(**{A1: Behaviour.SUBMIT_FAIL_FALSE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        assert submits(sim, record.carts[0].cart_id) == 1
    assert code == 1
    assert record.status is OrderStatus.FAILED
    assert record.items[0].reason_code == "PAYMENT_FAILED"


async def test_absent_retryability_on_submit_needs_review(tmp_path: Path) -> None:
    """An error without retryable goes to NEEDS_REVIEW and is not resent."""
    async with running_simulator(sim_config(**{A1: Behaviour.SUBMIT_FAIL_ABSENT})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        _, [record] = await run(settings_for(sim, tmp_path, path))
        assert submits(sim, record.carts[0].cart_id) == 1
    assert record.status is OrderStatus.NEEDS_ATTENTION
    assert record.items[0].outcome is ItemOutcome.NEEDS_REVIEW


async def test_504_after_processing_is_polled_not_resent(tmp_path: Path) -> None:
    """A 504 whose submission really happened is learned by polling; submitCart is sent once."""
    async with running_simulator(sim_config(**{A1: Behaviour.SUBMIT_504_AFTER_ONCE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        assert submits(sim, record.carts[0].cart_id) == 1
    assert code == 0
    assert record.status is OrderStatus.PLACED


async def test_503_before_processing_is_polled_then_same_cart_resubmitted(tmp_path: Path) -> None:
    """A 503 is an unknown outcome: poll first; when nothing started, the same cart goes again."""
    async with running_simulator(sim_config(**{A1: Behaviour.SUBMIT_503_ONCE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert len(truth.carts) == 1
    assert submits(sim, record.carts[0].cart_id) == 2


async def test_never_started_order_resubmits_the_same_cart(tmp_path: Path) -> None:
    """No events for never_started_after: the same cart is submitted again, no new cart."""
    async with running_simulator(sim_config(**{A1: Behaviour.NEVER_STARTS_ONCE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert len(truth.carts) == 1
    assert len(record.carts) == 1
    assert submits(sim, record.carts[0].cart_id) == 2


async def test_stuck_order_is_never_replaced(tmp_path: Path) -> None:
    """Only a started event past stuck_after: STUCK, with the cart id, and no replacement cart."""
    async with running_simulator(sim_config(**{A1: Behaviour.STUCK})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 1
    assert record.status is OrderStatus.NEEDS_ATTENTION
    assert record.items[0].outcome is ItemOutcome.STUCK
    assert record.items[0].cart_id == record.carts[0].cart_id
    assert len(truth.carts) == 1


async def test_replacement_cart_holds_exactly_the_failed_items(tmp_path: Path) -> None:
    """The items of every Rye order that failed retryably, across stores, and only those, go into one new cart."""
    script = {A1: Behaviour.PLACE_FAIL_RETRYABLE_ONCE, S1: Behaviour.PLACE_FAIL_RETRYABLE_ONCE}
    placed_elsewhere = next(v for v in (f"4400000000{n:04d}" for n in range(50))
                            if shopify_store(v) != shopify_store(S1))
    async with running_simulator(sim_config(**script)) as sim:
        items = [("AMAZON", A1), ("AMAZON", A2), ("SHOPIFY", S1), ("SHOPIFY", placed_elsewhere)]
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", *items)])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert [c.generation for c in record.carts] == [0, 1]
    first_cart = record.carts[0].cart_id
    failed = sorted(
        p for o in truth.orders.values() if o.cart_id == first_cart and o.status == "FAILED"
        for _, p, _ in o.items
    )
    assert failed == sorted([A1, A2, S1])  # A1 and A2 share the amazon store's order
    second = truth.carts[record.carts[1].cart_id]
    assert sorted(p for _, p, _ in second.items) == failed


async def test_max_replacements_is_respected(tmp_path: Path) -> None:
    """An item that keeps failing retryably gets 1 + max_replacements carts, then FAILED."""
    async with running_simulator(sim_config(**{A1: Behaviour.PLACE_FAIL_RETRYABLE_ALWAYS})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path, max_replacements=1))
        truth = sim.truth()
    assert code == 1
    assert len(truth.carts) == 2
    assert [c.generation for c in record.carts] == [0, 1]
    assert record.items[0].outcome is ItemOutcome.FAILED
    assert record.items[0].reason_code == "UPSTREAM_SERVICE_ERROR"


async def test_action_required_carries_the_redirect_url(tmp_path: Path) -> None:
    """A 3-D Secure challenge ends as ACTION_REQUIRED with the URL a person must open."""
    async with running_simulator(sim_config(**{A1: Behaviour.ACTION_REQUIRED})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        _, [record] = await run(settings_for(sim, tmp_path, path))
    item = record.items[0]
    assert item.outcome is ItemOutcome.ACTION_REQUIRED
    assert item.redirect_url
    assert item.redirect_url.startswith("https://")


async def test_product_not_found_leaves_the_rest_of_the_order_going(tmp_path: Path) -> None:
    """PRODUCT_NOT_FOUND fails that item; the other items are still placed."""
    async with running_simulator(sim_config(**{A1: Behaviour.NOT_FOUND})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1), ("AMAZON", A2))])
        _, [record] = await run(settings_for(sim, tmp_path, path))
    by_product = {i.product_id: i for i in record.items}
    assert by_product[A1].outcome is ItemOutcome.FAILED
    assert by_product[A1].reason_code == "PRODUCT_NOT_FOUND"
    assert by_product[A2].outcome is ItemOutcome.PLACED
    assert record.status is OrderStatus.PARTIAL


async def test_partial_store_failure_resubmits_the_same_cart(tmp_path: Path) -> None:
    """One store failing retryably at submission: the same cart goes again, other stores untouched."""
    async with running_simulator(sim_config(**{S1: Behaviour.STORE_SUBMIT_RETRYABLE_ONCE})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1), ("SHOPIFY", S1))])
        code, [record] = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert record.status is OrderStatus.PLACED
    assert len(truth.carts) == 1
    assert len(truth.orders) == 2  # one Rye order per store, none placed twice


async def test_runner_set_faster_than_the_api_loses_nothing(tmp_path: Path) -> None:
    """--strict-rps ten times the API's tier: the tier's answers pace the run, every order is
    placed once, and any 429 met on the way is sent again until answered.

    Whether a 429 happens at all depends on timing (the runner learns the tier from the first
    answers' Ratelimit-* headers); scripted 429s are pinned in tests/faults/test_fault_matrix.py.
    """
    config = SimConfig(
        profile="happy",
        seed=1,
        start_delay_s=0.05,
        placement_delay_s=0.2,
        strict_rps=4.0,
        default_rps=500.0,
    )
    async with running_simulator(config) as sim:
        orders = [order(f"A-{n}", ("AMAZON", f"B0TEST{n:04d}")) for n in range(6)]
        path = write_jsonl(tmp_path / "in.jsonl", orders)
        code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=40.0))
        log = sim.request_log()
        truth = sim.truth()
    assert code == 0
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * 6
    assert len(truth.carts) == 6
    assert all(c.submissions_processed == 1 for c in truth.carts.values())
    for n, entry in enumerate(log):
        if entry.http_status == 429 and entry.operation == "submitCart":
            assert any(
                later.operation == "submitCart" and later.cart_id == entry.cart_id
                and later.processed for later in log[n + 1:]
            )


async def test_rerun_into_the_same_out_sends_no_create_or_submit(tmp_path: Path) -> None:
    """Running the finished job again changes nothing and places nothing twice."""
    async with running_simulator(sim_config(**{A2: Behaviour.PLACE_FAIL_FALSE})) as sim:
        path = write_jsonl(
            tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1)), order("A-2", ("AMAZON", A2))]
        )
        settings = settings_for(sim, tmp_path, path)
        first_code, first = await run(settings)
        before = len(strict_requests(sim))
        second_code, second = await run(settings)
        assert len(strict_requests(sim)) == before
    assert first_code == second_code == 1
    assert second == first


async def test_invalid_order_is_in_the_ledger_and_the_rest_goes_on(tmp_path: Path) -> None:
    """A bad order becomes an INVALID line naming file, line and field; the others are placed."""
    async with running_simulator(sim_config()) as sim:
        bad = order("A-2", ("AMAZON", A2))
        bad["items"][0]["quantity"] = 0
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1)), bad])
        code, ledger = await run(settings_for(sim, tmp_path, path))
    assert code == 1
    by_id = {r.order_id: r for r in ledger}
    assert by_id["A-1"].status is OrderStatus.PLACED
    invalid = by_id["A-2"]
    assert invalid.status is OrderStatus.INVALID
    assert invalid.invalid is not None
    assert invalid.invalid.line == 2
    assert invalid.invalid.file.endswith("in.jsonl")
    assert invalid.invalid.field is not None
    assert "quantity" in invalid.invalid.field


async def test_per_operation_strict_buckets_are_learned_and_used(tmp_path: Path) -> None:
    """Against one Strict bucket per operation, the runner learns it and uses both."""
    import orjson

    config = SimConfig(profile="happy", seed=1, start_delay_s=0.05, placement_delay_s=0.2,
                       strict_rps=5.0, default_rps=500.0, shared_strict=False)
    async with running_simulator(config) as sim:
        orders = [order(f"P-{n}", ("AMAZON", f"B0PEROP{n:03d}")) for n in range(60)]
        path = write_jsonl(tmp_path / "in.jsonl", orders)
        code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=5.0))
        sent = strict_requests(sim)
    stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert code == 0
    assert len(ledger) == 60
    assert stats["strict_shared"] is False
    # The new buckets start as full as the server's were, not full: no burst into 429s.
    assert stats["rate_limited"] <= 1
    assert stats["rate_limited"] == sum(r.http_status == 429 for r in sent)
    assert stats["strict_by_operation"] == {
        op: sum(r.operation == op for r in sent) for op in ("createCart", "submitCart")
    }


async def test_a_shared_strict_bucket_is_never_split(tmp_path: Path) -> None:
    """Against one shared Strict bucket, the runner never concludes it may send twice as fast."""
    import orjson

    config = SimConfig(profile="happy", seed=1, start_delay_s=0.05, placement_delay_s=0.2,
                       strict_rps=5.0, default_rps=500.0, shared_strict=True)
    async with running_simulator(config) as sim:
        orders = [order(f"Q-{n}", ("AMAZON", f"B0SHARE{n:03d}")) for n in range(30)]
        path = write_jsonl(tmp_path / "in.jsonl", orders)
        code, _ = await run(settings_for(sim, tmp_path, path, strict_rps=5.0))
    stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert code == 0
    assert stats["strict_shared"] is not False
    assert stats["rate_limited"] <= 2


async def test_a_read_timeout_on_submit_is_polled_not_resent(tmp_path: Path) -> None:
    """submitCart answered after the read timeout: the outcome is unknown, so poll; never resend at once."""
    config = SimConfig(profile="happy", seed=1, script={A1: Behaviour.SUBMIT_SLOW_ONCE}, slow_s=1.5, **SIM_FAST)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("A-1", ("AMAZON", A1))])
        code, [record] = await run(settings_for(sim, tmp_path, path, read_timeout_s=0.5,
                                                never_started_after_s=6.0, stuck_after_s=8.0))
        await anyio.sleep(1.6)  # let the slow request reach the simulator's count
        assert submits(sim, record.carts[0].cart_id) == 1
    journal = (tmp_path / "out" / "journal.jsonl").read_text()
    assert journal.count('"t":"submit"') == 1
    assert code == 0
    assert record.status is OrderStatus.PLACED


async def test_a_checkout_that_can_never_be_read_ends_needs_review_instead_of_polling_forever(
    tmp_path: Path,
) -> None:
    """The API answers, but this cart's checkoutByCartID only ever gets a proxy's HTML page: after
    max(--stuck-after, --outage-budget) the order is left to a person (it may be placed), and
    the night ends instead of polling until morning. Submitted once, never again."""
    config = replace(sim_config(), faults={"checkoutByCartID": [Fault.HTML] * 10_000})
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("U-1", ("AMAZON", A1))])
        with anyio.fail_after(60):
            code, [record] = await run(settings_for(sim, tmp_path, path, stuck_after_s=1.0,
                                                    outage_budget_s=2.0))
        submits = [r for r in sim.request_log() if r.operation == "submitCart"]
    assert code == 1
    assert record.status is OrderStatus.NEEDS_ATTENTION
    [item] = record.items
    assert item.outcome is ItemOutcome.NEEDS_REVIEW
    assert item.reason_code == "CHECKOUT_UNREADABLE"
    assert len(submits) == 1
