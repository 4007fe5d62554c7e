"""The nouns of the product: orders and line items as loaded, outcomes as recorded.

Values only. Nothing here performs I/O or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Marketplace(StrEnum):
    AMAZON = "AMAZON"
    SHOPIFY = "SHOPIFY"


class ItemOutcome(StrEnum):
    PLACED = "PLACED"  #: the store confirmed the order (OrderPlacedOrderEvent / SUCCEEDED)
    FAILED = "FAILED"  #: definitely not placed; reason_code says why
    STUCK = "STUCK"  #: submission started and never finished; contact Rye with the cart id
    ACTION_REQUIRED = "ACTION_REQUIRED"  #: 3-D Secure: a person opens redirect_url
    NEEDS_REVIEW = "NEEDS_REVIEW"  #: the API could not say whether retrying is safe
    INVALID = "INVALID"  #: never sent: the input order did not pass validation


class OrderStatus(StrEnum):
    PLACED = "PLACED"  #: every item placed
    NEEDS_ATTENTION = "NEEDS_ATTENTION"  #: some item STUCK, ACTION_REQUIRED or NEEDS_REVIEW
    PARTIAL = "PARTIAL"  #: some items placed, the rest failed
    FAILED = "FAILED"  #: nothing placed
    INVALID = "INVALID"  #: the order never passed validation


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A buyer identity or billing address, with the API's field names in snake case."""

    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    address1: str
    address2: str | None = None
    city: str
    province_code: str | None = None
    postal_code: str
    country_code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LineItem:
    marketplace: Marketplace
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """One validated input order."""

    order_id: str
    buyer: Address
    items: tuple[LineItem, ...]
    billing: Address | None = None
    payment_token: str | None = None
    line: int  #: 1-based line in the input file where the order starts
    #: The input line of each item, in item order (CSV: its row's first line; JSONL: the order's)
    item_lines: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidOrder:
    """An input order (or a fragment of one) that did not pass validation; it is never sent."""

    order_id: str | None
    file: str
    line: int  #: 1-based; the CSV header is line 1
    field: str | None  #: the offending field, None when the whole record is unusable
    message: str
    items: tuple[LineItem, ...] = ()  #: whatever items could be read, for the ledger
    lines: tuple[int, ...] = ()  #: the first line of every input row (or JSONL line) it spans


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    """The final word on one line item, as the ledger prints it."""

    marketplace: Marketplace
    product_id: str
    quantity: int
    outcome: ItemOutcome
    reason_code: str | None = None
    reason: str | None = None
    cart_id: str | None = None
    rye_order_id: str | None = None
    redirect_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CartRecord:
    cart_id: str
    generation: int
    submitted: bool
    total: int | None = None  #: the cart's price (Cart.cost.total) in minor units; None: unknown
    currency: str | None = None  #: ISO 4217 code of `total`


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidInfo:
    file: str
    line: int
    field: str | None
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRecord:
    """One line of ledger.jsonl: the final state of one input order."""

    order_id: str | None
    status: OrderStatus
    items: tuple[ItemResult, ...]
    carts: tuple[CartRecord, ...] = ()
    started_at: str | None = None  #: ISO 8601 UTC
    finished_at: str | None = None  #: ISO 8601 UTC
    invalid: InvalidInfo | None = None
    #: Where the order is in the input (line numbers only, never its content), so the retry file
    #: can read its rows back: for an order that was sent, one line per item in item order; for
    #: an INVALID one, the first line of each of its rows. Empty in ledgers written before it.
    lines: tuple[int, ...] = ()
