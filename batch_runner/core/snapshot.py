"""What polling shows, as values: the client parses API answers into these; the core decides on them."""

from __future__ import annotations

from dataclasses import dataclass

from batch_runner.core.model import LineItem


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    typename: str  #: e.g. "OrderPlacedOrderEvent"; unknown names are kept as they came
    reason: str | None = None
    reason_code: str | None = None
    retryable: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RyeOrderView:
    """One Rye order (one store of a cart) as `checkoutByCartID` shows it."""

    id: str
    status: str  #: OrderStatus as sent; unknown values are kept
    events: tuple[EventView, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    redirect_urls: tuple[str, ...] = ()  #: CompletePaymentChallenge.redirectURL values
    action_types: tuple[str, ...] = ()  #: __typename of each required action; unknown ones kept


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutView:
    status: str  #: CheckoutStatus as sent
    orders: tuple[RyeOrderView, ...] = ()
