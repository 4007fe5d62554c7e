"""Pricing and the spend guard, as the run carries them out (decisions in core/budget.py).

- `wait_cart_priced`: the cart's cost from createCart's answer, else from getCart reads on the
  Default tier (bounded, never a Strict call) until Rye calls it final.
- `SpendGuard`: the night's limits and the journal's reservation book. `admit` is called at the
  instant before a cart's first submitCart (after the rate limiter, with no await in between),
  so two carts can never both pass the budget's last room; it returns the reservation that the
  submit intent carries, or raises BudgetReached. Once the budget is reached the guard stays
  closed: no new cart is created or submitted for the first time, in-flight work finishes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from batch_runner.client import RyeClient
from batch_runner.core.budget import (
    Book,
    Decision,
    Limits,
    Verdict,
    budget_message,
    guard_budget,
    guard_cart,
)
from batch_runner.core.money import CartCost, is_currency, parse_decimal, to_minor
from batch_runner.errors import ConfigError

#: getCart reads of one cart before its price is called unknown.
MAX_PRICE_READS = 5


class BudgetReached(Exception):
    """The next submission would pass the night's budget: the order is left for a rerun."""


async def wait_cart_priced(
    client: RyeClient, cart_id: str, first: CartCost | None, *,
    sleep: Callable[[float], Awaitable[None]], interval_s: float, reads: int = MAX_PRICE_READS,
) -> CartCost | None:
    """The final cost of the cart, or the best one Rye gave (estimated or None) after `reads`."""
    cost = first
    for attempt in range(reads):
        if cost is not None and cost.final:
            return cost
        if attempt or first is not None:
            await sleep(interval_s)  # Rye needs time to price; an estimate means "not yet"
        read = await client.cart_cost(cart_id)
        if read is None or isinstance(read, CartCost):
            cost = read or cost
    return cost


def limits_from(max_order_total: str | None, budget: str | None) -> Limits:
    """Limits from the settings' text ("250", "500.00 USD"); ConfigError naming the option."""
    ceiling = _amount(max_order_total, "--max-order-total") if max_order_total else None
    if not budget:
        return Limits(max_order_total=ceiling)
    parts = budget.split()
    if len(parts) != 2 or not is_currency(parts[1].upper()):
        raise ConfigError(f"--budget must be AMOUNT CURRENCY, e.g. '500.00 USD'; got {budget!r}")
    currency = parts[1].upper()
    return Limits(max_order_total=ceiling, currency=currency,
                  budget=to_minor(_amount(parts[0], "--budget"), currency))


def _amount(text: str, option: str) -> Decimal:
    try:
        return parse_decimal(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


class SpendGuard:
    def __init__(self, limits: Limits, book: Book) -> None:
        self.limits = limits
        self.book = book
        self.closed = False  #: the budget was reached: no new carts, no first submissions

    def __repr__(self) -> str:
        return f"<SpendGuard {self.limits} closed={self.closed} held={self.book.totals()}>"

    def check_cart(self, cost: CartCost | None) -> Decision:
        return guard_cart(cost, limits=self.limits)

    def admit(self, cart_id: str, cost: CartCost | None) -> list[object] | None:
        """Right before the first submitCart of `cart_id`: the reservation to journal with it.

        Raises:
            BudgetReached: the budget is (or would now be) passed; nothing is sent.
        """
        if self.book.holds(cart_id):
            return None  # reserved by an earlier submit intent of this cart
        if self.closed and self.limits.budget is not None:
            raise BudgetReached(self.message())
        if cost is None or cost.total is None:
            return None  # only without limits (guard_cart refuses it otherwise)
        if guard_budget(cost, book=self.book, limits=self.limits).verdict is Verdict.BUDGET_REACHED:
            self.closed = True
            raise BudgetReached(self.message())
        return [cost.total, cost.currency]

    def message(self) -> str:
        return budget_message(self.book, self.limits)
