"""The simulator's prices: deterministic per product id, shipping per store, tax by province.

Amounts are integers in the currency's minor unit, as Rye's Price.value (cents for USD). A cart's
total is the sum of its stores' totals; each store is priced on its own (subtotal + shipping +
tax on the subtotal), so the Rye order of one store costs exactly its store's total and the
ground truth can sum what was placed. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from batch_runner.simulator.config import Behaviour

Line = tuple[str, str, int]  # (marketplace, product id, quantity)

#: Shipping per store, in cents.
SHIPPING: dict[str, int] = {
    "amazon": 499, "shop-a.myshopify.com": 599, "shop-b.myshopify.com": 0,
    "shop-c.myshopify.com": 899,
}
#: Sales tax by the buyer's province, in basis points (1/100 of a percent); others pay none.
TAX_BP: dict[str, int] = {"CA": 725, "NY": 888, "TX": 625, "VA": 530, "WA": 650}
OVERPRICE_FACTOR = 100
SYMBOLS = {"USD": "$", "EUR": "\u20ac"}


def unit_price(product_id: str, behaviour: Behaviour) -> int:
    """10.00 to 99.99 per unit, from the id; 100 times that when scripted OVERPRICED."""
    digest = hashlib.blake2b(f"price:{product_id}".encode(), digest_size=4).digest()
    cents = 1000 + int.from_bytes(digest, "big") % 9000
    return cents * OVERPRICE_FACTOR if behaviour is Behaviour.OVERPRICED else cents


def tax(subtotal: int, province: str | None) -> int:
    """Tax on `subtotal`, rounded half up to the cent, in integers."""
    return (subtotal * TAX_BP.get((province or "").upper(), 0) + 5000) // 10000


@dataclass(frozen=True, slots=True)
class StoreCost:
    subtotal: int
    shipping: int
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping + self.tax


def store_cost(store: str, lines: Iterable[Line], province: str | None,
               behaviour: Callable[[str], Behaviour]) -> StoreCost:
    subtotal = sum(unit_price(pid, behaviour(pid)) * qty for _, pid, qty in lines)
    return StoreCost(subtotal=subtotal, shipping=shipping_of(store),
                     tax=tax(subtotal, province))


def shipping_of(store: str) -> int:
    """Standard shipping of a store, in minor units: what its offer shows and its cost counts."""
    return SHIPPING.get(store, 699)


def currency_of(pids: Iterable[str], behaviour: Callable[[str], Behaviour]) -> str:
    return "EUR" if any(behaviour(p) is Behaviour.FOREIGN_CURRENCY for p in pids) else "USD"


def price(value: int, currency: str) -> dict[str, Any]:
    """A Price object as Rye sends it."""
    symbol = SYMBOLS.get(currency)
    amount = f"{value / 100:,.2f}"
    shown = f"{symbol}{amount}" if symbol else f"{amount} {currency}"
    return {"value": value, "currency": currency, "displayValue": shown}


def cart_cost(stores: Iterable[StoreCost], currency: str, *, estimated: bool) -> dict[str, Any]:
    """Cart.cost. An estimate knows the subtotal only: shipping and tax null, total = subtotal."""
    costs = list(stores)
    subtotal = sum(c.subtotal for c in costs)
    if estimated:
        return {"isEstimated": True, "subtotal": price(subtotal, currency),
                "margin": price(0, currency), "shipping": None, "tax": None,
                "total": price(subtotal, currency)}
    return {"isEstimated": False, "subtotal": price(subtotal, currency),
            "margin": price(0, currency),
            "shipping": price(sum(c.shipping for c in costs), currency),
            "tax": price(sum(c.tax for c in costs), currency),
            "total": price(sum(c.total for c in costs), currency)}
