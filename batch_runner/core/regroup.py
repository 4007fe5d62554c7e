"""Regrouping: which items go into the next replacement cart, if any.

Only items whose Rye order failed with retryable true may go into a replacement; every other
item keeps the outcome it has. At most `max_replacements` replacement carts per order.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch_runner.core.model import LineItem


@dataclass(frozen=True, slots=True, kw_only=True)
class CartPlan:
    generation: int
    items: tuple[LineItem, ...]


def replacement(
    retryable_failed: tuple[LineItem, ...], *, generation: int, max_replacements: int
) -> CartPlan | None:
    """The next cart for the items that failed retryably in cart `generation`, or None if out of budget."""
    if not retryable_failed or generation >= max_replacements:
        return None
    return CartPlan(generation=generation + 1, items=retryable_failed)
