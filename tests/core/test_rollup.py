"""Order status from item outcomes (SPEC "Output"), and the counts and action list of a run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_runner.core.model import (
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.core.rollup import ATTENTION, RULES, SEVERITY, order_status, summarize

O = ItemOutcome


@pytest.mark.parametrize(
    ("rule", "outcomes", "status"),
    [
        (RULES[0], [O.PLACED, O.INVALID], OrderStatus.INVALID),
        (RULES[1], [O.PLACED, O.PLACED], OrderStatus.PLACED),
        (RULES[2], [O.PLACED, O.STUCK], OrderStatus.NEEDS_ATTENTION),
        (RULES[2], [O.FAILED, O.ACTION_REQUIRED], OrderStatus.NEEDS_ATTENTION),
        (RULES[2], [O.NEEDS_REVIEW], OrderStatus.NEEDS_ATTENTION),
        (RULES[3], [O.PLACED, O.FAILED], OrderStatus.PARTIAL),
        (RULES[4], [O.FAILED, O.FAILED], OrderStatus.FAILED),
        (RULES[4], [], OrderStatus.FAILED),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)
def test_each_rule_gives_its_status(
    rule: tuple[str, OrderStatus], outcomes: list[ItemOutcome], status: OrderStatus
) -> None:
    """Each row of RULES, tried in order, gives the status the SPEC names."""
    assert rule[1] is status
    assert order_status(outcomes) is status


@given(st.lists(st.sampled_from(ItemOutcome)))
def test_the_rollup_is_total_and_agrees_with_the_rules_table(outcomes: list[ItemOutcome]) -> None:
    """Any list of outcomes has a status, and it is the first rule of RULES that holds."""
    holds = [
        O.INVALID in outcomes,
        bool(outcomes) and set(outcomes) == {O.PLACED},
        bool(set(outcomes) & ATTENTION),
        O.PLACED in outcomes,
        True,
    ]
    assert order_status(outcomes) is RULES[holds.index(True)][1]
    assert order_status(iter(outcomes)) is order_status(list(reversed(outcomes)))


def item(outcome: ItemOutcome, pid: str = "B1", **extra: str | None) -> ItemResult:
    return ItemResult(marketplace=Marketplace.AMAZON, product_id=pid, quantity=1,
                      outcome=outcome, **extra)  # type: ignore[arg-type]


def record(order_id: str, *items: ItemResult, **extra: object) -> LedgerRecord:
    status = order_status(i.outcome for i in items)
    return LedgerRecord(order_id=order_id, status=status, items=items, **extra)  # type: ignore[arg-type]


def test_summary_counts_orders_items_and_reason_codes() -> None:
    """Counts by order status, item outcome and (reason code, outcome) cover every record."""
    s = summarize([
        record("a", item(O.PLACED), item(O.PLACED)),
        record("b", item(O.PLACED), item(O.FAILED, reason_code="OUT_OF_STOCK")),
        record("c", item(O.FAILED, reason_code="OUT_OF_STOCK")),
    ])
    assert (s.orders, s.items) == (3, 5)
    assert s.by_status == {OrderStatus.PLACED: 1, OrderStatus.PARTIAL: 1, OrderStatus.FAILED: 1}
    assert s.by_outcome == {O.PLACED: 3, O.FAILED: 2}
    assert s.by_reason == {("OUT_OF_STOCK", O.FAILED): 2}
    assert s.orders_to_act_on == 2


def test_actions_are_worst_first_then_in_ledger_order() -> None:
    """STUCK, ACTION_REQUIRED, NEEDS_REVIEW, FAILED, INVALID; ties keep the ledger's order."""
    bad = LedgerRecord(order_id="inv", status=OrderStatus.INVALID, items=(),
                       invalid=InvalidInfo(file="o.csv", line=4, field="quantity", message="zero"))
    s = summarize([
        record("f1", item(O.FAILED, reason_code="X")), bad,
        record("r", item(O.NEEDS_REVIEW)), record("ok", item(O.PLACED)),
        record("a", item(O.ACTION_REQUIRED, redirect_url="https://3ds.example/a")),
        record("s", item(O.STUCK, cart_id="c9")), record("f2", item(O.FAILED)),
    ])
    assert [(a.outcome, a.order_id) for a in s.actions] == [
        (O.STUCK, "s"), (O.ACTION_REQUIRED, "a"), (O.NEEDS_REVIEW, "r"),
        (O.FAILED, "f1"), (O.FAILED, "f2"), (O.INVALID, "inv"),
    ]
    assert [a.outcome for a in s.actions] == sorted((a.outcome for a in s.actions), key=SEVERITY.index)
    assert s.actions[-1].where == "o.csv:4 quantity"
    assert s.actions[-1].reasons == ("zero",)


def test_an_order_gets_one_action_per_outcome_with_its_ids_gathered() -> None:
    """Items of one order sharing an outcome make one action listing all their carts and ids."""
    s = summarize([record(
        "m",
        item(O.STUCK, "P1", cart_id="c1", rye_order_id="r1"),
        item(O.STUCK, "P2", cart_id="c1", rye_order_id="r2"),
        item(O.FAILED, "P3", cart_id="c2", reason_code="PRODUCT_NOT_FOUND", reason="no such id"),
        item(O.PLACED, "P4", cart_id="c1"),
    )])
    stuck, failed = s.actions
    assert stuck.cart_ids == ("c1",)
    assert stuck.rye_order_ids == ("r1", "r2")
    assert stuck.products == ("P1 x1", "P2 x1")
    assert failed.reasons == ("PRODUCT_NOT_FOUND: no such id",)
    assert s.orders_to_act_on == 1


def test_the_ledger_span_is_the_earliest_start_and_latest_finish() -> None:
    """first_started_at and last_finished_at bound every record that has them."""
    s = summarize([
        record("a", item(O.PLACED), started_at="2026-11-24T22:05:00+00:00",
               finished_at="2026-11-24T22:06:00+00:00"),
        record("b", item(O.PLACED), started_at="2026-11-24T22:00:00+00:00",
               finished_at="2026-11-24T23:00:00+00:00"),
        record("c", item(O.PLACED)),
    ])
    assert s.first_started_at == "2026-11-24T22:00:00+00:00"
    assert s.last_finished_at == "2026-11-24T23:00:00+00:00"
    assert summarize([]).first_started_at is None
