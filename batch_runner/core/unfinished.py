"""Where an unfinished order stopped, from what the journal knows of its carts.

A run that stops early (signal, outage, deadline, failure streak, budget) leaves orders without
a ledger line. The person reading the report must see, for each, whether money may be moving:
a submitted cart is waiting for Rye's answer, a created cart is not yet submitted, an order not
started has had nothing sent. Pure: facts in, a StopPoint out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class StopPoint(StrEnum):
    SUBMITTED = "submitted"  #: submitCart sent; the order's outcome is not known yet
    CART_CREATED = "cart_created"  #: Rye made the cart; it is not submitted
    CART_PENDING = "cart_pending"  #: createCart queued or sent, no cart recorded: none to submit
    REPLACEMENT_DUE = "replacement_due"  #: a cart is decided; the next one is not created yet
    DECIDED = "decided"  #: every item is decided; only its ledger line is missing
    NOT_STARTED = "not_started"  #: nothing was sent for this order


#: How each point reads in the report and the summary, most urgent first (the listing order).
LABELS: dict[StopPoint, str] = {
    StopPoint.SUBMITTED: "submitted, waiting for Rye's answer",
    StopPoint.CART_CREATED: "cart created, not submitted",
    StopPoint.CART_PENDING: "no cart yet (createCart queued or unanswered; the rerun creates it)",
    StopPoint.REPLACEMENT_DUE: "a cart decided, its replacement not created yet",
    StopPoint.DECIDED: "decided, ledger line not written yet (the rerun writes it; nothing is sent)",
    StopPoint.NOT_STARTED: "not started",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CartFacts:
    """What the journal says of one cart of an order."""

    generation: int
    cart_id: str | None  #: None: createCart was sent and no usable answer recorded
    submits: int  #: submitCart requests journaled
    decided: bool  #: its cart_done record was written
    replacing: bool = False  #: that record sends items to a replacement cart


def stop_point(carts: Iterable[CartFacts]) -> StopPoint:
    """Where an order without a ledger line stopped: judged by its latest cart."""
    latest = max(carts, key=lambda c: c.generation, default=None)
    if latest is None:
        return StopPoint.NOT_STARTED
    if latest.decided:
        return StopPoint.REPLACEMENT_DUE if latest.replacing else StopPoint.DECIDED
    if latest.submits:
        return StopPoint.SUBMITTED
    return StopPoint.CART_CREATED if latest.cart_id else StopPoint.CART_PENDING


@dataclass(frozen=True, slots=True, kw_only=True)
class UnfinishedOrder:
    order_id: str | None  #: None for an input entry without a usable order id
    line: int | None  #: 1-based line in the input, when the input was read
    point: StopPoint
    generation: int | None = None  #: of the latest cart
    cart_id: str | None = None  #: of the latest cart


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfinished:
    """The orders a stopped run left without a ledger line."""

    count: int
    by_point: dict[StopPoint, int]
    listed: tuple[UnfinishedOrder, ...]  #: most urgent first, then input order; at most a limit
    input_read: bool  #: False: orders never started could not be counted (input unreadable)
    note: str | None = None  #: why the input was not read, for the reader

    @property
    def unlisted(self) -> int:
        return self.count - len(self.listed)


def tally(orders: Sequence[UnfinishedOrder], *, count: int, input_read: bool,
          limit: int, note: str | None = None) -> Unfinished:
    """The Unfinished value: counts by point over all `count`, the first `limit` listed.

    `orders` holds every unfinished order in flight and the not-started ones in input order
    (possibly cut short: `count` is the true total)."""
    by_point = dict.fromkeys(StopPoint, 0)
    for order in orders:
        by_point[order.point] += 1
    by_point[StopPoint.NOT_STARTED] += count - len(orders)
    rank = list(LABELS)
    listed = sorted(orders, key=lambda o: rank.index(o.point))[:limit]  # stable: input order
    return Unfinished(count=count, by_point={p: n for p, n in by_point.items() if n},
                      listed=tuple(listed), input_read=input_read, note=note)
