"""--stop-after-failures: one failure code ending N orders in a row trips; a normal mix never does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from batch_runner.core.failure_streak import FailureStreak, Trip, failure_code
from batch_runner.core.model import ItemOutcome, OrderStatus

PAYMENT = (OrderStatus.FAILED, [(ItemOutcome.FAILED, "PAYMENT_FAILED")])
STOCK = (OrderStatus.FAILED, [(ItemOutcome.FAILED, "OUT_OF_STOCK")])
PLACED = (OrderStatus.PLACED, [(ItemOutcome.PLACED, None)])
PARTIAL = (OrderStatus.PARTIAL, [(ItemOutcome.PLACED, None), (ItemOutcome.FAILED, "OUT_OF_STOCK")])
REVIEW = (OrderStatus.NEEDS_ATTENTION, [(ItemOutcome.NEEDS_REVIEW, "SUBMIT_CART_FAILED")])
INVALID = (OrderStatus.INVALID, [(ItemOutcome.INVALID, "INVALID")])


def feed(limit: int, orders: list[tuple[OrderStatus, list[tuple[ItemOutcome, str | None]]]]) -> list[Trip | None]:
    streak = FailureStreak(limit)
    return [streak.observe(status, items) for status, items in orders]


def test_the_same_code_n_times_in_a_row_trips_once_at_the_nth() -> None:
    trips = feed(5, [PAYMENT] * 7)
    assert trips[:4] == [None] * 4
    assert trips[4] == Trip(code="PAYMENT_FAILED", count=5)
    assert trips[5:] == [None, None]  # trips once
    assert "PAYMENT_FAILED ended 5 orders in a row" in Trip(code="PAYMENT_FAILED", count=5).message


def test_invalid_orders_neither_count_nor_break_the_streak() -> None:
    """INVALID orders never reached the API: they are skipped."""
    assert feed(3, [PAYMENT, INVALID, PAYMENT, INVALID, PAYMENT])[-1] == Trip(code="PAYMENT_FAILED", count=3)


def test_anything_placed_or_another_ending_breaks_the_streak() -> None:
    """PLACED, PARTIAL, NEEDS_ATTENTION or another code between: the streak starts again."""
    for breaker in (PLACED, PARTIAL, REVIEW, STOCK):
        assert feed(3, [PAYMENT, PAYMENT, breaker, PAYMENT, PAYMENT]) == [None] * 5


def test_zero_turns_it_off() -> None:
    assert feed(0, [PAYMENT] * 100) == [None] * 100


def test_the_code_of_a_failed_order_is_its_commonest() -> None:
    items = [(ItemOutcome.FAILED, "A"), (ItemOutcome.FAILED, "B"), (ItemOutcome.FAILED, "B")]
    assert failure_code(OrderStatus.FAILED, items) == "B"
    assert failure_code(OrderStatus.FAILED, [(ItemOutcome.FAILED, None)]) == "UNKNOWN"
    assert failure_code(OrderStatus.PARTIAL, items) is None


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=60), st.integers(min_value=5, max_value=50))
def test_a_normal_mix_never_trips(runs: list[int], limit: int) -> None:
    """Some OUT_OF_STOCK (fewer than the limit in a row) between placed orders: never a trip."""
    orders = []
    for failures in runs:
        orders += [STOCK] * failures + [PLACED]
    assert all(trip is None for trip in feed(limit, orders))


@given(st.lists(st.sampled_from([PLACED, STOCK, PAYMENT, REVIEW, INVALID, PARTIAL]), max_size=80),
       st.integers(min_value=1, max_value=6))
def test_it_trips_exactly_when_a_run_of_one_code_reaches_the_limit(orders: list, limit: int) -> None:  # type: ignore[type-arg]
    """Against a plain model: the first index where `limit` consecutive (ignoring INVALID)
    FAILED orders share a code."""
    expected = None
    code, count = None, 0
    for index, (status, items) in enumerate(orders):
        if status is OrderStatus.INVALID:
            continue
        this = items[0][1] if status is OrderStatus.FAILED else None
        count = count + 1 if this is not None and this == code else (1 if this else 0)
        code = this
        if count >= limit and expected is None:
            expected = index
    trips = feed(limit, orders)
    got = next((i for i, t in enumerate(trips) if t is not None), None)
    assert got == expected
