"""The fault matrix and the resource limits: the real runner against the real simulator.

Every fault is injected by the simulator (SimConfig.faults scripts the next requests of one
operation; Behaviour scripts one product), and every test ends with what the SPEC implies: the
ledger's outcome per item, the simulator's request log (nothing resent that must not be) and its
ground truth (nothing placed twice). Faults already covered in tests/pipeline are not repeated
there: test_flow.py (429 from a too-fast runner, 503/504 on submitCart by Behaviour, the read
timeout on submitCart) and test_stop_and_secrets.py (an API outage from the start, chaos).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from batch_runner.client import MAX_BODY_BYTES, MAX_RATE_LIMITED_RESENDS
from batch_runner.config import Settings
from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.journal import Journal, locked
from batch_runner.progress import NoProgress
from batch_runner.runner import Runner
from batch_runner.simulator import Behaviour, Fault, SimConfig, Simulator, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, strict_requests, write_jsonl

A1, A2 = "B00A2KD8NY", "B07XJ8C8F5"
S1 = "44346795295022"
#: A read timeout well under the simulator's slow answers, both small.
READ_TIMEOUT_S = 0.3
SLOW_S = 0.8


def sim_config(faults: dict[str, Sequence[Fault | None]] | None = None, **kwargs: Any) -> SimConfig:
    values: dict[str, Any] = {"profile": "happy", "seed": 1, "slow_s": SLOW_S, **SIM_FAST, **kwargs}
    return SimConfig(faults=faults or {}, **values)


# --- what every test checks ------------------------------------------------------------------


def blind_resends(sim: Simulator) -> list[str]:
    """Carts sent submitCart again with no successful poll of that cart since the previous one.

    A 429 was not processed and is always safe to resend; every other resend must follow a poll
    that told the runner what happened (SPEC step 3: never send submitCart again at once).
    """
    last_submit: dict[str, bool] = {}  # cart id -> polled successfully since its last submitCart
    offenders = []
    for entry in sim.request_log():
        if entry.cart_id is None:
            continue
        if entry.operation == "checkoutByCartID" and entry.http_status == 200 and entry.processed:
            last_submit[entry.cart_id] = True
        if entry.operation == "submitCart" and entry.http_status != 429:
            if last_submit.get(entry.cart_id) is False:
                offenders.append(entry.cart_id)
            last_submit[entry.cart_id] = False
    return offenders


def placed_twice(sim: Simulator) -> list[str]:
    """Products in more than one Rye order that is placed or may still be placed."""
    seen: dict[str, int] = {}
    for rye_order in sim.truth().orders.values():
        if rye_order.status != "FAILED":
            for _, pid, _ in rye_order.items:
                seen[pid] = seen.get(pid, 0) + 1
    return [pid for pid, n in seen.items() if n > 1]


def check_safety(sim: Simulator, ledger: Sequence[LedgerRecord]) -> None:
    """Nothing resent blindly, nothing placed twice, and the ledger agrees with the truth."""
    truth = sim.truth()
    assert blind_resends(sim) == []
    assert placed_twice(sim) == []
    assert all(c.submissions_processed <= 1 for c in truth.carts.values())
    for record in ledger:
        for item in record.items:
            if item.outcome is ItemOutcome.PLACED:
                assert item.rye_order_id is not None
                assert truth.orders[item.rye_order_id].status == "SUCCEEDED"


def submit_requests(sim: Simulator, cart_id: str) -> list[int]:
    """HTTP status of every submitCart request for the cart, 429s included."""
    return [r.http_status for r in sim.request_log()
            if r.operation == "submitCart" and r.cart_id == cart_id]


def journal_records(out: Path, kind: str) -> list[dict[str, Any]]:
    lines = (out / "journal.jsonl").read_bytes().splitlines()
    return [rec for rec in map(orjson.loads, lines) if rec.get("t") == kind]


async def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """For an answer the runner stopped waiting for: the simulator still finishes it."""
    with anyio.fail_after(timeout_s):
        while not condition():  # noqa: ASYNC110 (the simulator's state, not an event)
            await anyio.sleep(0.02)


# --- one bad answer to one operation ----------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    outcome: ItemOutcome = ItemOutcome.PLACED
    code: str | None = None
    submits: int = 1  #: submitCart requests for the ledger's cart
    carts: int = 1  #: carts created at the API (an orphan from an unknown createCart is harmless)


PLACED = Expect()
#: submitCart not processed: poll first; only once polling shows nothing started (after
#: never_started_after) the same cart goes again.
RESUBMITTED = Expect(submits=2)
#: createCart processed but its answer lost: created again; the first cart is never submitted.
ORPHAN = Expect(carts=2)

MATRIX: dict[tuple[str, Fault], Expect] = {
    ("createCart", Fault.UNAVAILABLE): PLACED,
    ("createCart", Fault.RESET): PLACED,
    ("createCart", Fault.TIMEOUT_AFTER): ORPHAN,
    ("createCart", Fault.SLOW): ORPHAN,
    ("createCart", Fault.HTML): PLACED,
    ("createCart", Fault.NO_DATA): PLACED,
    ("createCart", Fault.ERRORS_ONLY): Expect(outcome=ItemOutcome.FAILED, code="GRAPHQL_ERROR",
                                              submits=0, carts=0),
    ("createCart", Fault.HUGE): ORPHAN,
    ("submitCart", Fault.UNAVAILABLE): RESUBMITTED,
    ("submitCart", Fault.RESET): RESUBMITTED,
    ("submitCart", Fault.TIMEOUT_AFTER): PLACED,
    ("submitCart", Fault.SLOW): PLACED,
    ("submitCart", Fault.HTML): RESUBMITTED,
    ("submitCart", Fault.NO_DATA): RESUBMITTED,
    ("submitCart", Fault.ERRORS_ONLY): Expect(outcome=ItemOutcome.NEEDS_REVIEW,
                                              code="GRAPHQL_ERROR"),
    ("submitCart", Fault.HUGE): PLACED,
    **{("checkoutByCartID", fault): PLACED for fault in (
        Fault.UNAVAILABLE, Fault.RESET, Fault.TIMEOUT_AFTER, Fault.SLOW, Fault.HTML,
        Fault.NO_DATA, Fault.ERRORS_ONLY, Fault.HUGE)},
}


@pytest.mark.parametrize(("operation", "fault"), list(MATRIX), ids=lambda v: str(v))
async def test_one_bad_answer(tmp_path: Path, operation: str, fault: Fault) -> None:
    """One bad answer (two in a row for polls) to one operation ends as the SPEC implies."""
    expect = MATRIX[(operation, fault)]
    times = 2 if operation == "checkoutByCartID" else 1
    async with running_simulator(sim_config({operation: [fault] * times})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("F-1", ("AMAZON", A1))])
        # Short never-started clock for the resubmit cases; a long one where the slow answer
        # lands late, so that polling sees the order start before the clock runs out.
        never_started_s = 3.0 if fault == Fault.SLOW else 0.6
        code, ledger = await run(settings_for(sim, tmp_path, path, read_timeout_s=READ_TIMEOUT_S,
                                              never_started_after_s=never_started_s,
                                              stuck_after_s=4.0))
        assert sim.faults_left(operation) == 0  # the fault did happen
        # An answer the runner gave up on still lands: wait for it before reading the truth.
        await wait_for(lambda: sim.requests_in_progress == 0)
        truth = sim.truth()
        check_safety(sim, ledger)
        [record] = ledger
        [item] = record.items
        assert item.outcome is expect.outcome
        assert item.reason_code == expect.code
        assert len(truth.carts) == expect.carts
        if expect.carts:
            [cart] = record.carts
            assert len(submit_requests(sim, cart.cart_id)) == expect.submits
            orphans = [c for c in truth.carts.values() if c.cart_id != cart.cart_id]
            assert all(c.submit_requests == 0 for c in orphans)
    assert code == (0 if expect.outcome is ItemOutcome.PLACED else 1)


# --- 429 storms -------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["createCart", "submitCart", "checkoutByCartID"])
async def test_a_long_429_storm_with_headers_waits_each_window(tmp_path: Path, operation: str) -> None:
    """More 429s in a row than the client resends at once: each waits for Ratelimit-Reset, the
    call is then reported not sent and tried again later; nothing is lost or sent twice."""
    storm = MAX_RATE_LIMITED_RESENDS + 5
    reset_s = 0.05
    config = sim_config({operation: [Fault.RATE_LIMITED] * storm}, fault_reset_s=reset_s)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("R-1", ("AMAZON", A1))])
        code, ledger = await run(settings_for(sim, tmp_path, path))
        check_safety(sim, ledger)
        log = [r for r in sim.request_log() if r.operation == operation]
        [cart] = ledger[0].carts
        assert len(submit_requests(sim, cart.cart_id)) - (storm if operation == "submitCart" else 0) == 1
    assert code == 0
    assert [r.http_status for r in log[:storm + 1]] == [429] * storm + [200]
    gaps = [b.t - a.t for a, b in itertools.pairwise(log[:storm + 1])]
    assert min(gaps) >= reset_s * 0.9  # never resent before the window the API named


async def test_a_429_storm_without_ratelimit_headers_is_waited_out(tmp_path: Path) -> None:
    """429s with no Ratelimit-* header at all on submitCart: resent after a pause, placed once."""
    storm = 2
    async with running_simulator(sim_config({"submitCart": [Fault.RATE_LIMITED_BARE] * storm})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("R-1", ("AMAZON", A1))])
        code, ledger = await run(settings_for(sim, tmp_path, path))
        check_safety(sim, ledger)
        [cart] = ledger[0].carts
        statuses = submit_requests(sim, cart.cart_id)
    assert code == 0
    assert statuses == [429] * storm + [200]
    assert ledger[0].status is OrderStatus.PLACED


# --- a newer API than ours ----------------------------------------------------------------------


@pytest.mark.parametrize(("behaviour", "code", "recorded"), [
    (Behaviour.NEWER_STATUS, "UNEXPECTED_STATE", "ON_HOLD"),
    (Behaviour.NEWER_EVENT, "UNEXPECTED_STATE", "OrderHeldOrderEvent"),
    (Behaviour.NEWER_SUBMIT_ERROR, "ORDER_LIMIT_EXCEEDED", None),
    (Behaviour.NEWER_ACTION, "UNEXPECTED_STATE", "CompleteAddressVerification"),
])
async def test_values_from_a_newer_api_go_to_needs_review(
    tmp_path: Path, behaviour: Behaviour, code: str, recorded: str | None,
) -> None:
    """An enum value or event type our schema does not know, served through the real GraphQL
    layer: recorded in the ledger, the item NEEDS_REVIEW, never replaced; the other store's
    item of the same order is placed."""
    config = sim_config(newer_api=True, script={A1: behaviour})
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("N-1", ("AMAZON", A1), ("SHOPIFY", S1))])
        exit_code, ledger = await run(settings_for(sim, tmp_path, path))
        check_safety(sim, ledger)
        truth = sim.truth()
        [record] = ledger
        [cart] = record.carts
        assert len(submit_requests(sim, cart.cart_id)) == 1
    assert exit_code == 1
    assert len(truth.carts) == 1  # no replacement cart
    newer, placed = record.items
    assert newer.outcome is ItemOutcome.NEEDS_REVIEW
    assert newer.reason_code == code
    assert recorded is None or recorded in (newer.reason or "")
    assert record.status is OrderStatus.NEEDS_ATTENTION
    if behaviour is not Behaviour.NEWER_SUBMIT_ERROR:  # a cart-level error stops every store
        assert placed.outcome is ItemOutcome.PLACED


# --- the cart is gone when a stopped run resumes ------------------------------------------------


async def run_and_stop_when(settings: Settings, ready: Callable[[Path], bool]) -> int:
    """Run in-process and stop it the way SIGTERM does once `ready(out)`; returns the exit code."""
    assert settings.out is not None
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        journal = Journal.open(out, settings.input or Path())
        try:
            runner = Runner(settings, progress=NoProgress())
            async with anyio.create_task_group() as tg:
                async def stop_when_ready() -> None:
                    await wait_for(lambda: (out / "journal.jsonl").exists() and ready(out))
                    runner.stop()

                tg.start_soon(stop_when_ready)
                result = await runner.run(journal)
                tg.cancel_scope.cancel()
        finally:
            journal.close()
    return result.exit_code


def journaled(kind: str) -> Callable[[Path], bool]:
    return lambda out: bool(journal_records(out, kind))


@pytest.mark.parametrize("gone", ["CART_NOT_FOUND_ERROR", "CART_EXPIRED_ERROR"])
@pytest.mark.parametrize("stopped", ["polling", "before_submit"])
async def test_a_cart_gone_after_a_long_pause_is_never_resent_blindly(
    tmp_path: Path, gone: str, stopped: str,
) -> None:
    """A run stopped mid-way; when it resumes the API has forgotten (or expired) the cart. The
    rerun sends no createCart and never a second submitCart: the items go to NEEDS_REVIEW with
    the API's code and the cart id, for a person to check in Rye's console."""
    async with running_simulator(sim_config(script={A1: Behaviour.STUCK})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("G-1", ("AMAZON", A1))])
        if stopped == "polling":  # submitted; the order is processing when the run stops
            first = settings_for(sim, tmp_path, path, never_started_after_s=30.0, stuck_after_s=60.0)
            ready = journaled("submitted")
        else:  # created, then stopped while submitCart waits for its Strict token
            first = settings_for(sim, tmp_path, path, strict_rps=1.0)
            ready = journaled("created")
        assert await run_and_stop_when(first, ready) == 3
        [cart_id] = sim.truth().carts
        submits_before = len(submit_requests(sim, cart_id))
        assert submits_before == (1 if stopped == "polling" else 0)
        strict_before = len(strict_requests(sim))
        sim.make_carts_unavailable(gone)
        code, ledger = await run(settings_for(sim, tmp_path, path))
        check_safety(sim, ledger)
        sent_on_resume = strict_requests(sim)[strict_before:]
    assert code == 1
    [record] = ledger
    [item] = record.items
    if stopped == "before_submit" and gone == "CART_EXPIRED_ERROR":
        # Issue 15: a cart never submitted that Rye refuses as expired is created again, once;
        # the expired cart itself never gets a second submitCart.
        assert [r.operation for r in sent_on_resume] == ["submitCart", "createCart", "submitCart"]
        [new_cart] = [c.cart_id for c in record.carts]
        assert new_cart != cart_id
        assert item.outcome is ItemOutcome.STUCK  # the scripted fate of A1, in the new cart
        return
    assert item.outcome is ItemOutcome.NEEDS_REVIEW
    assert item.reason_code == gone
    assert item.cart_id == cart_id
    assert [c.cart_id for c in record.carts] == [cart_id]
    # Polling: nothing strict at all. Before the submit: the one submitCart the journal allowed.
    assert [r.operation for r in sent_on_resume] == ([] if stopped == "polling" else ["submitCart"])


# --- the order list changes between polls -------------------------------------------------------


async def test_an_order_list_that_changes_length_between_polls(tmp_path: Path) -> None:
    """Polls that show one of the cart's two Rye orders, then both, then one again: nothing is
    decided from a missing order, nothing resubmitted, both stores placed once."""
    flicker = [Fault.SHRINK_ORDERS, None, Fault.SHRINK_ORDERS, Fault.SHRINK_ORDERS, None,
               Fault.SHRINK_ORDERS, None, Fault.SHRINK_ORDERS]
    config = sim_config({"checkoutByCartID": flicker}, placement_delay_s=0.8)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("L-1", ("AMAZON", A1), ("SHOPIFY", S1))])
        code, ledger = await run(settings_for(sim, tmp_path, path, never_started_after_s=3.0,
                                              stuck_after_s=4.0))
        check_safety(sim, ledger)
        # At least one poll missing an order, one whole again, one missing again (usually all 8).
        assert len(flicker) - sim.faults_left("checkoutByCartID") >= 3
        truth = sim.truth()
        [record] = ledger
        [cart] = record.carts
        assert len(submit_requests(sim, cart.cart_id)) == 1
    assert code == 0
    assert [i.outcome for i in record.items] == [ItemOutcome.PLACED] * 2
    assert len({i.rye_order_id for i in record.items}) == 2
    assert len(truth.orders) == 2


# --- the API goes away mid-run --------------------------------------------------------------


async def api_away_mid_run(tmp_path: Path, *, down_s: float, orders: int = 12) -> None:
    """Once a third of the orders are submitted the API answers 503 to everything for `down_s`;
    the run waits with backoff and continues; every order is placed, none twice or wrongly."""
    async with running_simulator(sim_config(placement_delay_s=0.5)) as sim:
        products = [f"B0AWAY{n:04d}" for n in range(orders)]
        path = write_jsonl(tmp_path / "in.jsonl",
                           [order(f"W-{n}", ("AMAZON", p)) for n, p in enumerate(products)])

        async def outage() -> None:
            await wait_for(lambda: sum(r.operation == "submitCart" and r.processed
                                       for r in sim.request_log()) >= orders // 3)
            sim.set_down(True)
            await anyio.sleep(down_s)
            sim.set_down(False)

        async with anyio.create_task_group() as tg:
            tg.start_soon(outage)
            code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=10.0,
                                                  never_started_after_s=1.0, stuck_after_s=30.0))
        check_safety(sim, ledger)
        refused = [r for r in sim.request_log() if r.http_status == 503]
        truth = sim.truth()
    assert code == 0
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * orders
    assert {r.operation for r in refused} >= {"checkoutByCartID"}  # the outage hit the run
    assert len(refused) >= 3
    # With backoff each order tries a handful of times while the API is away (doubling from
    # 0.1 s: under a dozen even for a minute); polling every poll_interval would be 25+ each.
    assert len(refused) <= 12 * orders
    assert sum(c.submissions_processed for c in truth.carts.values()) == orders


async def test_the_api_away_mid_run_is_waited_out(tmp_path: Path) -> None:
    await api_away_mid_run(tmp_path, down_s=1.5)


@pytest.mark.slow
async def test_the_api_away_for_a_full_minute_mid_run(tmp_path: Path) -> None:
    await api_away_mid_run(tmp_path, down_s=60.0)


# --- resource limits ----------------------------------------------------------------------------


async def test_an_answer_beyond_the_size_bound_is_refused_and_a_sane_large_one_is_read(
    tmp_path: Path,
) -> None:
    """createCart answered with more than MAX_BODY_BYTES, with a Content-Length or chunked
    without one: refused (journaled as lost, created again); an answer of a sane size that spans
    many network reads is read whole."""
    faults = [Fault.HUGE, None, Fault.HUGE_STREAMED, None, Fault.PADDED]
    config = sim_config({"createCart": faults},
                        huge_body_bytes=MAX_BODY_BYTES + 1024, padded_body_bytes=MAX_BODY_BYTES // 4)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl",
                           [order(f"B-{n}", ("AMAZON", f"B0BIG{n:04d}")) for n in range(3)])
        code, ledger = await run(settings_for(sim, tmp_path, path, max_in_flight=1))
        check_safety(sim, ledger)
        creates = [r for r in sim.request_log() if r.operation == "createCart"]
    lost = journal_records(tmp_path / "out", "create_lost")
    assert code == 0
    assert len(creates) == 5  # B-0 and B-1 twice (their answers refused), B-2 once
    assert [rec["o"] for rec in lost] == ["B-0", "B-1"]
    assert all(str(MAX_BODY_BYTES) in rec["why"] for rec in lost)


async def test_open_connections_are_bounded(tmp_path: Path) -> None:
    """More orders in flight than the connection pool allows, the first hundred createCarts slow:
    the API never sees more than min(100, max_in_flight) connections, and does see the pool full.
    (Every product is PRODUCT_NOT_FOUND, so an order is one createCart: the test stays short.)"""
    orders, in_flight, pool = 110, 110, 100
    products = [f"B0CONN{n:04d}" for n in range(orders)]
    config = sim_config({"createCart": [Fault.SLOW] * pool}, slow_s=2.5,
                        script=dict.fromkeys(products, Behaviour.NOT_FOUND),
                        strict_rps=1000.0, default_rps=5000.0)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl",
                           [order(f"C-{n}", ("AMAZON", p)) for n, p in enumerate(products)])
        code, ledger = await run(settings_for(sim, tmp_path, path, max_in_flight=in_flight,
                                              strict_rps=1000.0, default_rps=5000.0,
                                              read_timeout_s=5.0))
        check_safety(sim, ledger)
        creates = sum(r.operation == "createCart" for r in sim.request_log())
    assert code == 1
    assert creates == orders  # each sent once: waiting for a connection is not a failure
    assert {i.reason_code for r in ledger for i in r.items} == {"PRODUCT_NOT_FOUND"}
    peaks = (sim.peak_connections, sim.peak_requests)
    assert sim.peak_connections <= pool, peaks
    assert sim.peak_requests >= pool * 0.9, peaks  # the bound, not the load, is what held it


async def test_never_more_orders_in_flight_than_max_in_flight(tmp_path: Path) -> None:
    """From each cart's createCart to its last poll the order is in flight: with max_in_flight=3
    the API never sees more than three carts open at once (and does see three)."""
    limit = 3
    async with running_simulator(sim_config(placement_delay_s=0.3)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl",
                           [order(f"M-{n}", ("AMAZON", f"B0FLY{n:04d}")) for n in range(12)])
        code, ledger = await run(settings_for(sim, tmp_path, path, max_in_flight=limit))
        check_safety(sim, ledger)
        spans: dict[str, list[float]] = {}
        for entry in sim.request_log():
            if entry.cart_id is not None:
                spans.setdefault(entry.cart_id, [entry.t, entry.t])[1] = entry.t
    assert code == 0
    assert len(spans) == 12
    peak = max(sum(start <= t <= end for start, end in spans.values()) for t, _ in spans.values())
    assert peak == limit
    assert sim.peak_connections <= limit
