"""Roll item outcomes up: an order's status (SPEC "Output"), and the counts and action list of a run.

Pure: takes ledger records, returns values. No I/O, no clock; report.py turns these into text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from batch_runner.core.model import ItemOutcome, ItemResult, LedgerRecord, OrderStatus

ATTENTION = frozenset({ItemOutcome.STUCK, ItemOutcome.ACTION_REQUIRED, ItemOutcome.NEEDS_REVIEW})

#: (rule, status) in the order they are tried; the first that holds decides. The README prints it.
RULES: tuple[tuple[str, OrderStatus], ...] = (
    ("any item INVALID", OrderStatus.INVALID),
    ("every item PLACED (and there is at least one)", OrderStatus.PLACED),
    ("any item STUCK, ACTION_REQUIRED or NEEDS_REVIEW", OrderStatus.NEEDS_ATTENTION),
    ("some items PLACED", OrderStatus.PARTIAL),
    ("otherwise, including no items at all", OrderStatus.FAILED),
)

#: The action list's order, worst first: money may be committed (STUCK), a buyer is waiting on a
#: link that expires (ACTION_REQUIRED), nobody knows (NEEDS_REVIEW), then the plain failures.
SEVERITY: tuple[ItemOutcome, ...] = (
    ItemOutcome.STUCK,
    ItemOutcome.ACTION_REQUIRED,
    ItemOutcome.NEEDS_REVIEW,
    ItemOutcome.FAILED,
    ItemOutcome.INVALID,
)


def order_status(outcomes: Iterable[ItemOutcome]) -> OrderStatus:
    """The status of an order whose items ended with `outcomes`, by the first rule of RULES that holds."""
    seen = frozenset(outcomes)
    if ItemOutcome.INVALID in seen:
        return OrderStatus.INVALID
    if seen == {ItemOutcome.PLACED}:
        return OrderStatus.PLACED
    if seen & ATTENTION:
        return OrderStatus.NEEDS_ATTENTION
    if ItemOutcome.PLACED in seen:
        return OrderStatus.PARTIAL
    return OrderStatus.FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One thing a person must do: the items of one order that ended with the same outcome."""

    outcome: ItemOutcome
    order_id: str | None
    products: tuple[str, ...]  #: "B00A2KD8NY x2" per item
    cart_ids: tuple[str, ...]
    rye_order_ids: tuple[str, ...]
    redirect_urls: tuple[str, ...]  #: ACTION_REQUIRED: the 3-D Secure pages, one per Rye order
    reasons: tuple[str, ...]  #: "CODE: text", distinct, in ledger order
    where: str | None = None  #: INVALID: "file:line field"
    line: int | None = None  #: INVALID: the input line the ledger names
    order_status: OrderStatus | None = None  #: of the whole order, e.g. PARTIAL for a FAILED item
    placed_items: int = 0  #: the order's other items that were placed


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Everything the report counts, from the ledger alone."""

    orders: int
    items: int  #: line items, counting an INVALID order whose items could not be read as one
    by_status: Counter[OrderStatus]
    by_outcome: Counter[ItemOutcome]
    by_reason: Counter[tuple[str, ItemOutcome]]  #: (reason code, outcome) -> items
    actions: tuple[Action, ...]  #: worst first, then ledger order
    orders_to_act_on: int  #: orders with at least one action
    first_started_at: str | None  #: earliest started_at in the ledger (ISO 8601, UTC)
    last_finished_at: str | None  #: latest finished_at in the ledger (ISO 8601, UTC)


def _distinct(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _products(items: Iterable[ItemResult]) -> tuple[str, ...]:
    return tuple(f"{i.product_id} x{i.quantity}" for i in items)


def _reason(code: str | None, text: str | None) -> str | None:
    """"CODE: text", or just the text when it already names the code."""
    if code and text and code not in text:
        return f"{code}: {text}"
    return text or code


def actions_of(record: LedgerRecord) -> list[Action]:
    """The actions one ledger record calls for: one per outcome other than PLACED among its items."""
    actions: list[Action] = []
    if record.status is OrderStatus.INVALID:
        inv = record.invalid
        where = f"{inv.file}:{inv.line}" + (f" {inv.field}" if inv.field else "") if inv else None
        reasons = _distinct([inv.message] if inv else [_reason(i.reason_code, i.reason)
                                                       for i in record.items])
        products = _products(record.items)
        return [Action(outcome=ItemOutcome.INVALID, order_id=record.order_id, products=products,
                       cart_ids=(), rye_order_ids=(), redirect_urls=(), reasons=reasons,
                       where=where, line=inv.line if inv else None,
                       order_status=OrderStatus.INVALID)]
    placed = sum(i.outcome is ItemOutcome.PLACED for i in record.items)
    for outcome in SEVERITY:
        items = [i for i in record.items if i.outcome is outcome]
        if not items:
            continue
        actions.append(Action(
            outcome=outcome, order_id=record.order_id,
            products=_products(items),
            cart_ids=_distinct(i.cart_id for i in items),
            rye_order_ids=_distinct(i.rye_order_id for i in items),
            redirect_urls=_distinct(i.redirect_url for i in items),
            reasons=_distinct(_reason(i.reason_code, i.reason) for i in items),
            order_status=record.status, placed_items=placed,
        ))
    return actions


def summarize(records: Iterable[LedgerRecord]) -> Summary:
    """Counts by status, outcome and reason code, the action list, and the ledger's time span."""
    by_status: Counter[OrderStatus] = Counter()
    by_outcome: Counter[ItemOutcome] = Counter()
    by_reason: Counter[tuple[str, ItemOutcome]] = Counter()
    actions: list[Action] = []
    starts: list[str] = []
    ends: list[str] = []
    orders = items = to_act_on = 0
    for record in records:
        orders += 1
        by_status[record.status] += 1
        for item in record.items:
            items += 1
            by_outcome[item.outcome] += 1
            if item.reason_code:
                by_reason[(item.reason_code, item.outcome)] += 1
        if not record.items and record.status is OrderStatus.INVALID:
            items += 1  # no item could be read, yet a row was there: one row in ledger.csv too
            by_outcome[ItemOutcome.INVALID] += 1
        mine = actions_of(record)
        actions.extend(mine)
        to_act_on += bool(mine)
        starts.extend([record.started_at] if record.started_at else [])
        ends.extend([record.finished_at] if record.finished_at else [])
    actions.sort(key=lambda a: SEVERITY.index(a.outcome))  # stable: ledger order within a tier
    # The runner writes UTC "YYYY-MM-DDTHH:MM:SS+00:00" throughout, which sorts as text.
    return Summary(
        orders=orders, items=items, by_status=by_status, by_outcome=by_outcome,
        by_reason=by_reason, actions=tuple(actions), orders_to_act_on=to_act_on,
        first_started_at=min(starts, default=None), last_finished_at=max(ends, default=None),
    )
