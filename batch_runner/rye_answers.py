"""Rye's answers as values: the types a RyeClient returns, and their parsing from raw JSON.

Every answer is a value; raw JSON stays in this module and client.py. `OutcomeUnknown` is its
own type so that a submitCart whose fate is unknown can never be resent by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from batch_runner.core.model import LineItem, Marketplace
from batch_runner.core.money import CartCost, is_currency
from batch_runner.core.snapshot import CheckoutView, EventView, RyeOrderView


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiError:
    code: str
    message: str = ""
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CartCreated:
    cart_id: str
    lines: tuple[LineItem, ...]  #: what the cart holds, across its stores
    errors: tuple[ApiError, ...] = ()
    cost: CartCost | None = None  #: Cart.cost; None when absent or unreadable


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSubmission:
    store: str
    is_submitted: bool
    lines: tuple[LineItem, ...]
    errors: tuple[ApiError, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitAnswer:
    """submitCart was processed and answered (possibly with errors)."""

    stores: tuple[StoreSubmission, ...]
    errors: tuple[ApiError, ...]
    retryable: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """A top-level GraphQL error with no data (CART_NOT_FOUND_ERROR, a schema error, ...)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NotSent:
    """The request never reached the API (connection refused, 503 before processing, 429s)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Introspected:
    """The answer to the introspection query, whatever it holds: schema_check judges it."""

    status: int
    headers: Mapping[str, str]  #: the answer's headers (Ratelimit-* for the Default tier)
    body: dict[str, Any] | None  #: the decoded JSON object, None when the body is not one
    oversize: bool = False  #: the body passed MAX_SCHEMA_BYTES and was not read


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeUnknown:
    """The request may have been processed: 5xx, timeout or connection lost after sending."""

    reason: str


CreateResult: TypeAlias = CartCreated | Refused | NotSent | OutcomeUnknown
SubmitResult: TypeAlias = SubmitAnswer | Refused | NotSent | OutcomeUnknown
PollResult: TypeAlias = CheckoutView | Refused | NotSent | OutcomeUnknown
CostResult: TypeAlias = CartCost | Refused | NotSent | OutcomeUnknown | None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: dict[str, Any] | None


def _json_object(payload: bytes | None) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(payload) if payload is not None else None
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


# --- parsing helpers (raw JSON stays in this module) --------------------------------------------


def _data(reply: _Reply, field: str) -> dict[str, Any] | Refused | None:
    """`data.<field>`; a Refused for a GraphQL errors array without it; None for neither."""
    body = reply.body or {}
    data = body.get("data")
    value = data.get(field) if isinstance(data, dict) else None
    if isinstance(value, dict):
        return value
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = (first.get("extensions") or {}).get("code") or "GRAPHQL_ERROR"
        return Refused(code=str(code), message=str(first.get("message", ""))[:500])
    return None


def _cost(raw: object) -> CartCost | None:
    """Cart.cost as a CartCost; None when absent or not readable as one (never a guess).

    A total whose currency differs from another amount's, a value that is not an integer, or a
    currency that is not an ISO code makes the whole cost unreadable.
    """
    if not isinstance(raw, dict):
        return None
    amounts: dict[str, int | None] = {}
    currencies = set()
    for name in ("total", "subtotal", "shipping", "tax"):
        price = raw.get(name)
        if price is None:
            amounts[name] = None
            continue
        if not isinstance(price, dict):
            return None
        value, currency = price.get("value"), price.get("currency")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        if not isinstance(currency, str) or not is_currency(currency):
            return None
        amounts[name] = value
        currencies.add(currency)
    if len(currencies) != 1:
        return None
    estimated = raw.get("isEstimated")
    return CartCost(currency=currencies.pop(), total=amounts["total"],
                    subtotal=amounts["subtotal"], shipping=amounts["shipping"],
                    tax=amounts["tax"], estimated=estimated is not False)


def _errors(data: Mapping[str, Any]) -> tuple[ApiError, ...]:
    """The `errors` of a result, a cart or a store. Only a store's errors carry product ids
    (AmazonStoreErrorDetails.productIds, ShopifyStoreErrorDetails.variantIds, whose entries may
    be null); a cart's details are an address suggestion, not selected."""
    out = []
    for error in data.get("errors") or ():
        details = error.get("details") or {}
        ids = tuple(details.get("productIds") or ()) + tuple(details.get("variantIds") or ())
        out.append(
            ApiError(code=str(error.get("code")), message=str(error.get("message", "")),
                     product_ids=tuple(str(i) for i in ids if i is not None))
        )
    return tuple(out)


def _store_lines(store: Mapping[str, Any]) -> tuple[LineItem, ...]:
    lines = []
    for line in store.get("cartLines") or ():
        if "product" in line:
            market, pid = Marketplace.AMAZON, line["product"]["id"]
        else:
            market, pid = Marketplace.SHOPIFY, line["variant"]["id"]
        lines.append(LineItem(marketplace=market, product_id=str(pid), quantity=int(line["quantity"])))
    return tuple(lines)


def _store_submission(result: Mapping[str, Any]) -> StoreSubmission:
    """One SubmitStoreResult: isSubmitted and errors on the result itself; the store's name and
    lines inside `store`, the union Store."""
    store = result.get("store") or {}
    return StoreSubmission(
        store=str(store.get("store", "")),
        is_submitted=bool(result.get("isSubmitted")),
        lines=_store_lines(store),
        errors=_errors(result),
    )


def _rye_order(order: Mapping[str, Any]) -> RyeOrderView:
    events = tuple(
        EventView(
            typename=str(e.get("__typename")),
            reason=e.get("reason"),
            reason_code=e.get("reasonCode"),
            retryable=e.get("retryable") if isinstance(e.get("retryable"), bool) else None,
        )
        for e in order.get("events") or ()
    )
    items = []
    for line in order.get("lineItems") or ():
        if line.get("__typename") == "AmazonLineItem":
            market, pid = Marketplace.AMAZON, line["productId"]
        else:
            market, pid = Marketplace.SHOPIFY, line["variantId"]
        items.append(LineItem(marketplace=market, product_id=str(pid), quantity=int(line["quantity"])))
    actions = order.get("requiredActions") or ()
    urls = tuple(str(a["redirectURL"]) for a in actions if a.get("redirectURL"))
    return RyeOrderView(
        id=str(order["id"]), status=str(order.get("status")), events=events,
        line_items=tuple(items), redirect_urls=urls,
        action_types=tuple(str(a.get("__typename")) for a in actions),
    )
