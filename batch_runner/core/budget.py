"""The spend guards: may this cart be submitted, given its price, the limits and what is committed?

Pure decisions on integers in minor units (see core/money.py). The shells carry them out:
cart_flow asks `guard_cart` once a cart is priced and `guard_budget` at the instant before its
first submitCart (after the rate limiter, so concurrent carts are judged one at a time), and the
journal records every reservation in a `Book` before the submit intent, so that a run resumed
after kill -9 knows every amount already committed.

Rules:
- With no limit set, every cart may be submitted, priced or not.
- With any limit set, a cart without a final price is not submitted (PRICE_UNKNOWN).
- A cart whose total exceeds --max-order-total is not submitted (PRICE_ABOVE_LIMIT).
- With --budget, a cart in another currency is not submitted (CURRENCY_MISMATCH), and a cart
  whose total would take the committed sum past the budget is not submitted (BUDGET_REACHED:
  the run stops; a rerun with a larger budget resumes).
- A reservation is held while anything of the cart may be charged: placed, unknown, stuck,
  waiting for a person. It is released only when no item of the cart can have been charged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from batch_runner.core.model import ItemOutcome
from batch_runner.core.money import CartCost, fmt, to_minor

#: Outcomes after which the cart's money may have been taken (or nobody knows yet).
MAY_BE_CHARGED = frozenset({ItemOutcome.PLACED, ItemOutcome.STUCK, ItemOutcome.ACTION_REQUIRED,
                            ItemOutcome.NEEDS_REVIEW})


class Verdict(StrEnum):
    SUBMIT = "SUBMIT"  #: within every limit
    PRICE_ABOVE_LIMIT = "PRICE_ABOVE_LIMIT"  #: total > --max-order-total: NEEDS_REVIEW
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  #: not the budget's currency: NEEDS_REVIEW
    PRICE_UNKNOWN = "PRICE_UNKNOWN"  #: a limit is set and Rye gave no final total: NEEDS_REVIEW
    BUDGET_REACHED = "BUDGET_REACHED"  #: the night's budget would be passed: stop, resumable


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_order_total: Decimal | None = None  #: in the cart's currency (the budget's, when set)
    budget: int | None = None  #: minor units of `currency`
    currency: str | None = None  #: the budget's currency

    @property
    def active(self) -> bool:
        return self.max_order_total is not None or self.budget is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    verdict: Verdict
    reason: str = ""


SUBMIT = Decision(verdict=Verdict.SUBMIT)


def guard_cart(cost: CartCost | None, *, limits: Limits) -> Decision:
    """The per-cart guards, decided once the cart is priced (and again for each replacement)."""
    if not limits.active:
        return SUBMIT
    if cost is None or not cost.final or cost.total is None:
        state = "no price" if cost is None or cost.total is None else "only an estimated price"
        return Decision(verdict=Verdict.PRICE_UNKNOWN,
                        reason=f"Rye gave {state} for the cart; a spend limit is set, so it was not submitted")
    if limits.currency is not None and cost.currency != limits.currency:
        return Decision(verdict=Verdict.CURRENCY_MISMATCH,
                        reason=f"cart total {fmt(cost.total, cost.currency)} is not in the budget's "
                               f"currency {limits.currency}; not submitted")
    if limits.max_order_total is not None:
        ceiling = to_minor(limits.max_order_total, cost.currency)
        if cost.total > ceiling:
            return Decision(verdict=Verdict.PRICE_ABOVE_LIMIT,
                            reason=f"cart total {fmt(cost.total, cost.currency)} is above "
                                   f"--max-order-total {fmt(ceiling, cost.currency)}; not submitted")
    return SUBMIT


@dataclass(slots=True)
class Book:
    """Reservations per cart id: (amount, currency). Fed from the journal, before each submit."""

    held: dict[str, tuple[int, str]] = field(default_factory=dict)

    def holds(self, cart_id: str) -> bool:
        return cart_id in self.held

    def reserve(self, cart_id: str, amount: int, currency: str) -> None:
        self.held[cart_id] = (amount, currency)

    def release(self, cart_id: str) -> None:
        self.held.pop(cart_id, None)

    def spent(self, currency: str) -> int:
        return sum(amount for amount, cur in self.held.values() if cur == currency)

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for amount, cur in self.held.values():
            out[cur] = out.get(cur, 0) + amount
        return dict(sorted(out.items()))


def guard_budget(cost: CartCost, *, book: Book, limits: Limits) -> Decision:
    """May this priced cart be submitted now, given what the book already holds?"""
    if limits.budget is None or limits.currency is None or cost.total is None:
        return SUBMIT
    spent = book.spent(limits.currency)
    if spent + cost.total > limits.budget:
        return Decision(verdict=Verdict.BUDGET_REACHED, reason=budget_message(book, limits))
    return SUBMIT


def budget_message(book: Book, limits: Limits) -> str:
    if limits.budget is None or limits.currency is None:
        return "budget reached"
    spent = book.spent(limits.currency)
    return f"budget reached: spent {fmt(spent, limits.currency)} of {fmt(limits.budget, limits.currency)}"


def nothing_charged(outcomes: Iterable[ItemOutcome]) -> bool:
    """True when no item of a finished cart can have been charged (all FAILED or replaced)."""
    return not any(outcome in MAY_BE_CHARGED for outcome in outcomes)
