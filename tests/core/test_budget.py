"""core/budget.py and core/money.py: the spend guards' decisions, on integers in minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_runner.core.budget import (
    Book,
    Limits,
    Verdict,
    guard_budget,
    guard_cart,
    nothing_charged,
)
from batch_runner.core.model import ItemOutcome
from batch_runner.core.money import CartCost, fmt, parse_decimal, to_minor

USD = Limits(budget=10_000, currency="USD")


def cost(total: int | None, currency: str = "USD", *, estimated: bool = False) -> CartCost:
    return CartCost(currency=currency, total=total, estimated=estimated)


@pytest.mark.parametrize(
    ("price", "limits", "verdict"),
    [
        (cost(5_000), Limits(), Verdict.SUBMIT),
        (None, Limits(), Verdict.SUBMIT),  # no limit set: an unpriced cart goes on
        (cost(None), Limits(max_order_total=Decimal(100)), Verdict.PRICE_UNKNOWN),
        (None, USD, Verdict.PRICE_UNKNOWN),
        (cost(5_000, estimated=True), USD, Verdict.PRICE_UNKNOWN),
        (cost(5_000, "EUR"), USD, Verdict.CURRENCY_MISMATCH),
        (cost(10_000), Limits(max_order_total=Decimal(100)), Verdict.SUBMIT),  # equal is within
        (cost(10_001), Limits(max_order_total=Decimal(100)), Verdict.PRICE_ABOVE_LIMIT),
        (cost(101, "JPY"), Limits(max_order_total=Decimal(100)), Verdict.PRICE_ABOVE_LIMIT),
        (cost(10_001, "EUR"), Limits(max_order_total=Decimal("100.01")), Verdict.SUBMIT),
    ],
)
def test_guard_cart_table(price: CartCost | None, limits: Limits, verdict: Verdict) -> None:
    """Each per-cart rule of the module docstring, one row each."""
    assert guard_cart(price, limits=limits).verdict is verdict


def test_above_limit_reason_names_the_price_and_the_limit() -> None:
    """The NEEDS_REVIEW reason says what the cart costs and what the limit is."""
    decision = guard_cart(cost(123_456), limits=Limits(max_order_total=Decimal(500)))
    assert "1,234.56 USD" in decision.reason
    assert "500.00 USD" in decision.reason


def test_budget_counts_reservations_in_its_currency_only() -> None:
    """The budget compares the book's holdings in its currency plus the next cart with the limit."""
    book = Book()
    book.reserve("c1", 6_000, "USD")
    book.reserve("c2", 9_999, "EUR")
    assert guard_budget(cost(4_000), book=book, limits=USD).verdict is Verdict.SUBMIT
    assert guard_budget(cost(4_001), book=book, limits=USD).verdict is Verdict.BUDGET_REACHED
    book.release("c1")
    assert guard_budget(cost(10_000), book=book, limits=USD).verdict is Verdict.SUBMIT
    assert book.totals() == {"EUR": 9_999}


@given(st.lists(st.integers(min_value=0, max_value=5_000), max_size=40),
       st.integers(min_value=0, max_value=50_000))
def test_admitting_in_order_never_passes_the_budget(prices: list[int], budget: int) -> None:
    """Reserving every cart the guard admits keeps the book at or under the budget."""
    book, limits = Book(), Limits(budget=budget, currency="USD")
    for n, price in enumerate(prices):
        if guard_budget(cost(price), book=book, limits=limits).verdict is Verdict.SUBMIT:
            book.reserve(f"c{n}", price, "USD")
        assert book.spent("USD") <= budget


@pytest.mark.parametrize(
    ("outcomes", "released"),
    [
        ([], True),  # every item went to a replacement: its order failed, nothing taken
        ([ItemOutcome.FAILED, ItemOutcome.FAILED], True),
        ([ItemOutcome.FAILED, ItemOutcome.PLACED], False),
        ([ItemOutcome.STUCK], False),
        ([ItemOutcome.NEEDS_REVIEW], False),
        ([ItemOutcome.ACTION_REQUIRED], False),
    ],
)
def test_only_a_cart_with_nothing_charged_gives_its_amount_back(
    outcomes: list[ItemOutcome], released: bool
) -> None:
    """A reservation is held while anything of the cart may have been charged."""
    assert nothing_charged(outcomes) is released


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("500", "USD", 50_000), ("12.345", "USD", 1_235), ("1_000.5", "EUR", 100_050),
     ("1200", "JPY", 1_200), ("1.5", "KWD", 1_500), ("0", "USD", 0)],
)
def test_typed_amounts_become_minor_units(text: str, currency: str, minor: int) -> None:
    """Amounts are parsed with Decimal, rounded half up in the currency's minor unit."""
    assert to_minor(parse_decimal(text), currency) == minor


@pytest.mark.parametrize("text", ["", "abc", "-1", "NaN", "Infinity", "1e13"])
def test_bad_amounts_are_refused(text: str) -> None:
    """A typed amount that is not a finite, non-negative, sane number is a ValueError."""
    with pytest.raises(ValueError, match="amount"):
        parse_decimal(text)


def test_fmt_shows_major_units_with_the_code() -> None:
    """Amounts are shown in major units with the currency code."""
    assert fmt(123_456_789, "USD") == "1,234,567.89 USD"
    assert fmt(1200, "JPY") == "1,200 JPY"
