"""core/spending.py: the ledger's money sums per currency and the most expensive orders."""

from __future__ import annotations

from batch_runner.core.model import (
    CartRecord,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.core.spending import order_totals, summarize_money


def record(order_id: str, outcome: ItemOutcome, *carts: CartRecord) -> LedgerRecord:
    item = ItemResult(marketplace=Marketplace.AMAZON, product_id="B0", quantity=1,
                      outcome=outcome, cart_id=carts[-1].cart_id if carts else None)
    status = OrderStatus.PLACED if outcome is ItemOutcome.PLACED else OrderStatus.FAILED
    return LedgerRecord(order_id=order_id, status=status, items=(item,), carts=carts)


def cart(cart_id: str, total: int | None, *, submitted: bool = True, currency: str = "USD",
         generation: int = 0) -> CartRecord:
    return CartRecord(cart_id=cart_id, generation=generation, submitted=submitted,
                      total=total, currency=currency if total is not None else None)


def test_sums_per_currency_separate_priced_submitted_and_placed() -> None:
    """Priced counts every priced cart, submitted only submitted ones, placed those with a PLACED item."""
    records = [
        record("A", ItemOutcome.PLACED, cart("a0", 1_000)),
        record("B", ItemOutcome.PLACED, cart("b0", 500), cart("b1", 700, generation=1)),
        record("C", ItemOutcome.NEEDS_REVIEW, cart("c0", 90_000, submitted=False)),
        record("D", ItemOutcome.PLACED, cart("d0", 300, currency="EUR")),
        record("E", ItemOutcome.FAILED, cart("e0", None)),
    ]
    m = summarize_money(records)
    usd, eur = m.by_currency["USD"], m.by_currency["EUR"]
    assert (usd.priced, usd.submitted, usd.placed, usd.carts) == (92_200, 2_200, 1_700, 4)
    assert (eur.priced, eur.submitted, eur.placed) == (300, 300, 300)
    assert m.unpriced_carts == 1
    assert [(c.order_id, c.total, c.submitted) for c in m.top][:3] == [
        ("C", 90_000, False), ("B", 1_200, True), ("A", 1_000, True)]
    assert order_totals(records[1]) == {"USD": 1_200}
    assert order_totals(records[2]) == {}


def test_the_most_expensive_are_listed_per_currency_never_compared_across() -> None:
    """12,000 JPY (minor unit: the yen) is not above 99.00 USD: each currency has its own list,
    the one with the most priced carts first, at most `top` orders each."""
    records = [
        record("U1", ItemOutcome.PLACED, cart("u1", 9_900)),
        record("U2", ItemOutcome.PLACED, cart("u2", 2_500)),
        record("U3", ItemOutcome.PLACED, cart("u3", 7_000)),
        record("J1", ItemOutcome.PLACED, cart("j1", 12_000, currency="JPY")),
        record("J2", ItemOutcome.PLACED, cart("j2", 800, currency="JPY")),
    ]
    m = summarize_money(records, top=2)
    assert [(c.order_id, c.currency) for c in m.top] == [
        ("U1", "USD"), ("U3", "USD"), ("J1", "JPY"), ("J2", "JPY")]
