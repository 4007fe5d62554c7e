"""core.retry: which items are resent, under which new order ids; PLACED never."""

from __future__ import annotations

import pytest

from batch_runner.core.model import (
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.core.retry import (
    DEFAULT_OUTCOMES,
    INCLUDABLE,
    Resend,
    Unlocated,
    parse_outcomes,
    plan,
    resends,
    retry_order_id,
)


def item(outcome: ItemOutcome, pid: str = "B1") -> ItemResult:
    return ItemResult(marketplace=Marketplace.AMAZON, product_id=pid, quantity=1, outcome=outcome,
                      reason_code=None if outcome is ItemOutcome.PLACED else "CODE", reason="why")


def order(*outcomes: ItemOutcome, lines: tuple[int, ...] | None = None) -> LedgerRecord:
    items = tuple(item(o, f"P{n}") for n, o in enumerate(outcomes))
    return LedgerRecord(order_id="A-17", status=OrderStatus.PARTIAL, items=items,
                        lines=tuple(range(10, 10 + len(items))) if lines is None else lines)


def test_a_partial_order_gives_only_its_unplaced_items() -> None:
    """PLACED items stay out; the FAILED one keeps its line, index, code and reason."""
    got = list(resends(order(ItemOutcome.PLACED, ItemOutcome.FAILED, ItemOutcome.PLACED),
                       DEFAULT_OUTCOMES))
    assert got == [Resend(line=11, item_index=1, order_id="A-17", order_line=10,
                          outcome=ItemOutcome.FAILED, reason_code="CODE", reason="why")]


@pytest.mark.parametrize("outcome", sorted(INCLUDABLE - DEFAULT_OUTCOMES))
def test_items_that_may_be_placed_come_only_when_asked(outcome: ItemOutcome) -> None:
    """STUCK, NEEDS_REVIEW and ACTION_REQUIRED are out by default and in when included."""
    record = order(outcome)
    assert list(resends(record, DEFAULT_OUTCOMES)) == []
    assert [r.outcome for r in resends(record, DEFAULT_OUTCOMES | {outcome})] == [outcome]


def test_placed_is_never_resent_even_when_asked() -> None:
    """Asking for PLACED changes nothing."""
    assert list(resends(order(ItemOutcome.PLACED), frozenset(ItemOutcome))) == []
    with pytest.raises(ValueError, match="PLACED cannot be included"):
        parse_outcomes("stuck,PLACED")


def test_an_invalid_order_gives_every_row_it_spans_with_a_located_reason() -> None:
    """An INVALID order comes whole (every row), with `file line N, field: message`."""
    record = LedgerRecord(order_id="B-2", status=OrderStatus.INVALID, items=(), lines=(4, 5),
                          invalid=InvalidInfo(file="/data/orders.csv", line=5, field="quantity",
                                              message="must be a whole number"))
    got = list(resends(record, DEFAULT_OUTCOMES))
    assert [(r.line, r.item_index, r.outcome) for r in got] == [
        (4, None, ItemOutcome.INVALID), (5, None, ItemOutcome.INVALID)]
    assert got[0].reason == "orders.csv line 5, quantity: must be a whole number"
    assert list(resends(record, frozenset({ItemOutcome.FAILED}))) == []


def test_a_ledger_without_lines_is_reported_not_guessed() -> None:
    """A record from an older ledger (no lines) is Unlocated, never matched to some row."""
    by_line, unlocated = plan([order(ItemOutcome.FAILED, lines=())], DEFAULT_OUTCOMES)
    assert by_line == {}
    assert unlocated == [Unlocated(order_id="A-17", outcomes=(ItemOutcome.FAILED,))]


@pytest.mark.parametrize(("order_id", "was_retry", "taken", "new"), [
    ("A-17", False, set(), "A-17-r1"),
    ("A-17-r1", True, set(), "A-17-r2"),
    ("A-17-r1", False, set(), "A-17-r1-r1"),  # an id of the night that just looks like a retry
    ("A-17", False, {"A-17-r1", "A-17-r2"}, "A-17-r3"),
    ("A-17-r9", True, {"A-17-r10"}, "A-17-r11"),
])
def test_new_ids_never_collide(order_id: str, was_retry: bool, taken: set[str], new: str) -> None:
    """-r1 on a night's id, the next number on a retry's, skipping ids in use."""
    assert retry_order_id(order_id, input_was_retry=was_retry, taken=taken.__contains__) == new


def test_include_names_are_case_insensitive() -> None:
    """`stuck, needs_review` reads as the two outcomes."""
    assert parse_outcomes("stuck, needs_review") == {ItemOutcome.STUCK, ItemOutcome.NEEDS_REVIEW}
    assert parse_outcomes("") == frozenset()
