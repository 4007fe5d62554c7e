"""Money rolled up from the ledger: per-currency sums and the most expensive orders.

Pure: ledger records in, values out (report.py and ledger.py print them). A cart's price is
`CartRecord.total` in its currency's minor unit. Three sums per currency:
- priced: every cart Rye priced, submitted or not;
- submitted: carts that were submitted (money committed, placed or not);
- placed: carts with at least one item PLACED (a cart placed in part counts whole: Rye prices
  the cart, not its items).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus

#: How many of the most expensive orders the report lists.
TOP_ORDERS = 10


@dataclass(slots=True)
class CurrencySums:
    priced: int = 0
    submitted: int = 0
    placed: int = 0
    carts: int = 0  #: carts with a known price


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCost:
    order_id: str | None
    status: OrderStatus
    total: int  #: its submitted carts' totals (its priced ones when none was submitted)
    currency: str
    submitted: bool


@dataclass(slots=True)
class MoneySummary:
    by_currency: dict[str, CurrencySums] = field(default_factory=dict)
    #: Most expensive first, per currency (amounts in two currencies are not comparable): the
    #: currency with the most priced carts first, up to `top` orders of each.
    top: list[OrderCost] = field(default_factory=list)
    unpriced_carts: int = 0  #: carts the ledger names without a price


def order_totals(record: LedgerRecord, *, submitted_only: bool = True) -> dict[str, int]:
    """The order's cart totals by currency (only the submitted carts, by default)."""
    out: dict[str, int] = {}
    for cart in record.carts:
        if cart.total is None or cart.currency is None or (submitted_only and not cart.submitted):
            continue
        out[cart.currency] = out.get(cart.currency, 0) + cart.total
    return out


def _order_cost(record: LedgerRecord) -> OrderCost | None:
    submitted = order_totals(record)
    totals = submitted or order_totals(record, submitted_only=False)
    if len(totals) != 1:
        return None  # no price, or carts in several currencies: not comparable
    [(currency, total)] = totals.items()
    return OrderCost(order_id=record.order_id, status=record.status, total=total,
                     currency=currency, submitted=bool(submitted))


def summarize_money(records: Iterable[LedgerRecord], *, top: int = TOP_ORDERS) -> MoneySummary:
    summary = MoneySummary()
    costs: list[OrderCost] = []
    for record in records:
        placed_carts = {i.cart_id for i in record.items if i.outcome is ItemOutcome.PLACED}
        for cart in record.carts:
            if cart.total is None or cart.currency is None:
                summary.unpriced_carts += 1
                continue
            sums = summary.by_currency.setdefault(cart.currency, CurrencySums())
            sums.carts += 1
            sums.priced += cart.total
            sums.submitted += cart.total if cart.submitted else 0
            sums.placed += cart.total if cart.cart_id in placed_carts else 0
        if (cost := _order_cost(record)) is not None:
            costs.append(cost)
    summary.top = _most_expensive(costs, summary.by_currency, top)
    summary.by_currency = dict(sorted(summary.by_currency.items()))
    return summary


def _most_expensive(costs: list[OrderCost], by_currency: dict[str, CurrencySums],
                    top: int) -> list[OrderCost]:
    rank = {cur: n for n, cur in enumerate(
        sorted(by_currency, key=lambda cur: (-by_currency[cur].carts, cur)))}
    costs.sort(key=lambda c: (rank.get(c.currency, len(rank)), -c.total, c.order_id or ""))
    shown: dict[str, int] = {}
    out = []
    for cost in costs:
        if shown.get(cost.currency, 0) < top:
            shown[cost.currency] = shown.get(cost.currency, 0) + 1
            out.append(cost)
    return out
