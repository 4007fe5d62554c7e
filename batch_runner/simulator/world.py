"""The simulator's state: carts, stores and Rye orders, with Rye's rules for each operation.

No I/O. Order events are derived lazily from timestamps, so nothing runs in the background.
`now` is passed in by the caller (monotonic seconds).
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from batch_runner.simulator import pricing
from batch_runner.simulator.catalog import amazon_product, offer, shopify_variant
from batch_runner.simulator.config import Behaviour, SimConfig, behaviour_of, shopify_store

Line = tuple[str, str, int]  # (marketplace, product id, quantity)

FAIL_FATES = {
    Behaviour.PLACE_FAIL_RETRYABLE_ONCE: ("UPSTREAM_SERVICE_ERROR", True),
    Behaviour.PLACE_FAIL_RETRYABLE_ALWAYS: ("UPSTREAM_SERVICE_ERROR", True),
    Behaviour.PLACE_FAIL_FALSE: ("OUT_OF_STOCK", False),
    Behaviour.PLACE_FAIL_ABSENT: ("MERCHANT_ERROR", None),
}
ONCE = {Behaviour.PLACE_FAIL_RETRYABLE_ONCE, Behaviour.SUBMIT_RETRYABLE_ONCE,
        Behaviour.STORE_SUBMIT_RETRYABLE_ONCE, Behaviour.NEVER_STARTS_ONCE}


class ApiFailure(Exception):
    """A top-level GraphQL error (data null), e.g. CART_NOT_FOUND_ERROR."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class SimStore:
    name: str
    marketplace: str
    lines: list[Line]
    #: Rye's requestId: non-null from the start (docs/checkoutByCartID.txt shows it on a store
    #: not yet submitted); the Rye order created at submission gets this id.
    request_id: str
    is_submitted: bool = False
    order_id: str | None = None


@dataclass(slots=True)
class SimOrder:
    id: str
    cart_id: str
    store: str
    marketplace: str
    lines: list[Line]
    started_at: float | None  #: None while it never started
    fate: Behaviour
    created_wall: float = field(default_factory=time.time)


@dataclass(slots=True)
class SimCart:
    id: str
    buyer: dict[str, Any]
    stores: dict[str, SimStore]
    created_at: float
    submit_requests: int = 0
    submissions_processed: int = 0

    def lines(self) -> list[Line]:
        return [line for store in self.stores.values() for line in store.lines]


@dataclass(frozen=True, slots=True)
class StoreTruth:
    store: str
    items: tuple[Line, ...]
    is_submitted: bool
    order_id: str | None


@dataclass(frozen=True, slots=True)
class CartTruth:
    cart_id: str
    items: tuple[Line, ...]
    created_at: float
    submit_requests: int
    submissions_processed: int
    stores: dict[str, StoreTruth]


@dataclass(frozen=True, slots=True)
class OrderTruth:
    order_id: str
    cart_id: str
    store: str
    items: tuple[Line, ...]
    status: str
    events: tuple[str, ...]
    total: int  #: what the order costs (its store's total), minor units of `currency`
    currency: str


@dataclass(frozen=True, slots=True)
class GroundTruth:
    carts: dict[str, CartTruth]
    orders: dict[str, OrderTruth]


class World:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.carts: dict[str, SimCart] = {}
        self.orders: dict[str, SimOrder] = {}
        self.used: Counter[tuple[str, Behaviour]] = Counter()
        #: carts the API no longer serves: cart id -> CART_NOT_FOUND_ERROR or CART_EXPIRED_ERROR
        self.gone: dict[str, str] = {}

    # --- behaviours ----------------------------------------------------------------------------

    def behaviour(self, product_id: str) -> Behaviour:
        return behaviour_of(product_id, self.config)

    def fires(self, product_id: str, behaviour: Behaviour, key: str | None = None) -> bool:
        """Whether `behaviour` applies now; *_ONCE behaviours apply the first time per key only."""
        if self.behaviour(product_id) is not behaviour:
            return False
        if behaviour not in ONCE and not behaviour.value.endswith("_ONCE"):
            return True
        mark = (key or product_id, behaviour)
        self.used[mark] += 1
        return self.used[mark] == 1

    def _new_id(self) -> str:
        return "".join(self.rng.choices(string.ascii_letters + string.digits, k=20))

    def _new_order_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # --- createCart ----------------------------------------------------------------------------

    def create_cart(self, items: dict[str, Any], buyer: dict[str, Any] | None, now: float) -> tuple[SimCart, list[dict[str, Any]]]:
        cart = SimCart(id=self._new_id(), buyer=buyer or {}, stores={}, created_at=now)
        errors: list[dict[str, Any]] = []
        wanted = [("AMAZON", i["productId"], i["quantity"]) for i in items.get("amazonCartItemsInput") or ()]
        wanted += [("SHOPIFY", i["variantId"], i["quantity"]) for i in items.get("shopifyCartItemsInput") or ()]
        for market, pid, qty in wanted:
            if self.behaviour(pid) is Behaviour.NOT_FOUND:
                # A CartError's details are an address suggestion (CartErrorDetails): the product
                # is named only in the message.
                errors.append({"code": "PRODUCT_NOT_FOUND", "message": f"Product {pid} not found",
                               "details": None})
                continue
            name = "amazon" if market == "AMAZON" else shopify_store(pid)
            if name not in cart.stores:
                cart.stores[name] = SimStore(name=name, marketplace=market, lines=[],
                                             request_id=self._new_order_id())
            cart.stores[name].lines.append((market, pid, qty))
        self.carts[cart.id] = cart
        return cart, errors

    def get_cart(self, cart_id: str) -> SimCart:
        if self.gone.get(cart_id) == "CART_EXPIRED_ERROR":
            raise ApiFailure("CART_EXPIRED_ERROR", f"Cart expired: {cart_id}")
        cart = self.carts.get(cart_id)
        if cart is None or cart_id in self.gone:
            raise ApiFailure("CART_NOT_FOUND_ERROR", f"Cart not found: {cart_id}")
        return cart

    # --- submitCart ----------------------------------------------------------------------------

    def submit_cart(self, cart_id: str, now: float, *, shopper_ip: bool) -> tuple[dict[str, Any], bool | None, int]:
        """Returns (SubmitCartResult, retryable extension, stores submitted now)."""
        cart = self.get_cart(cart_id)
        cart.submit_requests += 1
        if not shopper_ip:
            return self._cart_error(cart, "SHOPPER_IP_IS_REQUIRED", "Rye-Shopper-IP header is required"), False, 0
        open_stores = [s for s in cart.stores.values() if not s.is_submitted]
        if not cart.stores:
            return self._cart_error(cart, "CART_IS_EMPTY", "The cart has no items"), False, 0
        if not open_stores:
            return self._cart_error(cart, "ALREADY_SUBMITTED", "Cart already submitted"), False, 0
        pids = [pid for s in open_stores for _, pid, _ in s.lines]
        for behaviour, code, retryable in (
            (Behaviour.SUBMIT_FAIL_FALSE, "PAYMENT_FAILED", False),
            (Behaviour.SUBMIT_FAIL_ABSENT, "SUBMIT_CART_FAILED", None),
            (Behaviour.SUBMIT_RETRYABLE_ALWAYS, "UPSTREAM_SERVICE_ERROR", True),
            (Behaviour.SUBMIT_RETRYABLE_ONCE, "UPSTREAM_SERVICE_ERROR", True),
            (Behaviour.NEWER_SUBMIT_ERROR, "ORDER_LIMIT_EXCEEDED", None),
        ):
            if any(self.fires(pid, behaviour) for pid in pids):
                return self._cart_error(cart, code, f"Submission failed: {code}"), retryable, 0
        results, retryable_store, submitted = [], False, 0
        for store in cart.stores.values():
            errors: list[dict[str, str]] = []
            if store.is_submitted:
                errors.append({"code": "ALREADY_SUBMITTED", "message": "Store already submitted"})
            elif any(self.fires(pid, Behaviour.STORE_SUBMIT_RETRYABLE_ONCE) for _, pid, _ in store.lines):
                errors.append({"code": "SUBMIT_STORE_FAILED", "message": "The store did not answer"})
                retryable_store = True
            else:
                self._start_store(cart, store, now)
                submitted += 1
            results.append(self._store_result(store, errors))
        if submitted:
            cart.submissions_processed += 1
        result = {"cart": {"id": cart.id, "stores": results}, "errors": []}
        return result, (True if retryable_store else None), submitted

    def _start_store(self, cart: SimCart, store: SimStore, now: float) -> None:
        existing = self.orders.get(store.order_id or "")
        pids = [pid for _, pid, _ in store.lines]
        if existing is None:
            never = any(self.fires(pid, Behaviour.NEVER_STARTS_ONCE, f"{cart.id}:{pid}") for pid in pids)
            order = SimOrder(id=store.request_id, cart_id=cart.id, store=store.name, marketplace=store.marketplace,
                             lines=list(store.lines), started_at=None if never else now,
                             fate=self._fate(pids))
            self.orders[order.id] = order
            store.order_id = order.id
            store.is_submitted = not never
            return
        existing.started_at = now  # a never-started order, submitted again: it starts now
        store.is_submitted = True

    def _fate(self, pids: list[str]) -> Behaviour:
        for behaviour in (Behaviour.STUCK, Behaviour.ACTION_REQUIRED, Behaviour.UNKNOWN_EVENT,
                          Behaviour.NEWER_STATUS, Behaviour.NEWER_EVENT, Behaviour.NEWER_ACTION,
                          Behaviour.PLACE_FAIL_FALSE, Behaviour.PLACE_FAIL_ABSENT,
                          Behaviour.PLACE_FAIL_RETRYABLE_ALWAYS, Behaviour.PLACE_FAIL_RETRYABLE_ONCE):
            if any(self.fires(pid, behaviour) for pid in pids):
                return behaviour
        return Behaviour.PLACE

    def _cart_error(self, cart: SimCart, code: str, message: str) -> dict[str, Any]:
        errors = [{"code": "ALREADY_SUBMITTED", "message": message}] if code == "ALREADY_SUBMITTED" else []
        stores = [self._store_result(s, errors if s.is_submitted else []) for s in cart.stores.values()]
        return {"cart": {"id": cart.id, "stores": stores}, "errors": [{"code": code, "message": message}]}

    def _store_result(self, store: SimStore, errors: list[dict[str, str]]) -> dict[str, Any]:
        status = "COMPLETED" if store.is_submitted and not errors else "FAILED"
        return {"store": self.store_view(store), "status": status, "isSubmitted": store.is_submitted,
                "orderId": store.order_id if store.is_submitted else None,
                "requestId": store.request_id, "errors": errors}

    # --- views -------------------------------------------------------------------------------

    def store_view(self, store: SimStore) -> dict[str, Any]:
        """An AmazonStore or ShopifyStore (the union Store resolves by __typename)."""
        amazon = store.marketplace == "AMAZON"
        lines = [{"quantity": q, "product": amazon_product(pid)} if amazon
                 else {"quantity": q, "variant": shopify_variant(pid)}
                 for _, pid, q in store.lines]
        return {"__typename": "AmazonStore" if amazon else "ShopifyStore", "store": store.name,
                "isSubmitted": store.is_submitted, "requestId": store.request_id,
                "orderId": store.order_id if store.is_submitted else None,
                "isShippingRequired": True, "shipsToCountries": None,
                "errors": [], "cartLines": lines,
                "offer": offer(amazon, store.name, self.currency(store.lines))}

    def cart_view(self, cart: SimCart, *, first: bool = False) -> dict[str, Any]:
        """The cart as Rye shows it; `first`: createCart's answer, where a cost may be estimated."""
        return {"id": cart.id, "buyerIdentity": dict(cart.buyer) or None,
                "cost": self._cost(cart, first=first),
                "isShippingRequired": True if cart.stores else None,
                "stores": [self.store_view(s) for s in cart.stores.values()]}

    def store_cost(self, cart: SimCart, store: SimStore) -> pricing.StoreCost:
        return pricing.store_cost(store.name, store.lines, cart.buyer.get("provinceCode"),
                                  self.behaviour)

    def currency(self, lines: list[Line]) -> str:
        return pricing.currency_of((pid for _, pid, _ in lines), self.behaviour)

    def _cost(self, cart: SimCart, *, first: bool) -> dict[str, Any] | None:
        pids = [pid for _, pid, _ in cart.lines()]
        if not pids:
            return None
        marks = {self.behaviour(pid) for pid in pids}
        if first and Behaviour.COST_ABSENT_ONCE in marks:
            return None
        estimated = Behaviour.COST_NEVER_FINAL in marks or (
            first and Behaviour.COST_ESTIMATED_ONCE in marks)
        costs = [self.store_cost(cart, s) for s in cart.stores.values()]
        return pricing.cart_cost(costs, self.currency(cart.lines()), estimated=estimated)

    def order_state(self, order: SimOrder, now: float) -> tuple[str, list[dict[str, Any]], list[dict[str, str]]]:
        """(status, events, requiredActions) of an order at `now`."""
        if order.started_at is None or now < order.started_at + self.config.start_delay_s:
            return "PENDING", [], []
        t0 = order.started_at
        events = [self._event("OrderSubmissionStartedOrderEvent", order, t0 + self.config.start_delay_s)]
        if order.fate is Behaviour.STUCK:
            return "PROCESSING", events, []
        if order.fate is Behaviour.NEWER_ACTION:
            return "ACTION_REQUIRED", events, [{"__typename": "CompleteAddressVerification",
                                                "verificationURL": f"https://verify.example/{order.id}"}]
        if order.fate is Behaviour.NEWER_STATUS:
            return "ON_HOLD", events, []
        if order.fate is Behaviour.NEWER_EVENT:
            held = self._event("OrderHeldOrderEvent", order, t0 + self.config.start_delay_s)
            return "PROCESSING", [*events, {**held, "holdReason": "risk review"}], []
        if order.fate is Behaviour.ACTION_REQUIRED:
            return "ACTION_REQUIRED", events, [{"__typename": "CompletePaymentChallenge",
                                                "redirectURL": f"https://pay.example/3ds/{order.id}"}]
        if now < t0 + self.config.placement_delay_s:
            return "PROCESSING", events, []
        done = t0 + self.config.placement_delay_s
        if order.fate in FAIL_FATES:
            code, retryable = FAIL_FATES[order.fate]
            failed = self._event("OrderFailedOrderEvent", order, done)
            failed.update(reason=f"Order could not be placed: {code}", reasonCode=code, retryable=retryable)
            return "FAILED", [*events, failed], []
        if order.fate is Behaviour.UNKNOWN_EVENT:
            return "CANCELLED", [*events, self._event("OrderCancelStartedOrderEvent", order, done),
                                 self._event("OrderCancelSucceededOrderEvent", order, done)], []
        return "SUCCEEDED", [*events, self._event("OrderSubmissionSucceededOrderEvent", order, done),
                             self._event("OrderPlacedOrderEvent", order, done)], []

    def _event(self, typename: str, order: SimOrder, at: float) -> dict[str, Any]:
        wall = order.created_wall + (at - (order.started_at or at))
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + "Z"
        return {"__typename": typename, "id": f"{order.id}-{typename}", "createdAt": created}

    def order_view(self, order: SimOrder, now: float) -> dict[str, Any]:
        status, events, actions = self.order_state(order, now)
        line_items = [
            {"__typename": "AmazonLineItem", "productId": pid, "quantity": q} if m == "AMAZON"
            else {"__typename": "ShopifyLineItem", "variantId": pid, "quantity": q}
            for m, pid, q in order.lines
        ]
        return {"id": order.id, "status": status, "marketplace": order.marketplace,
                "marketplaceOrderIds": [], "events": events, "requiredActions": actions,
                "shipments": [], "lineItems": line_items}

    def checkout_view(self, cart_id: str, now: float) -> dict[str, Any]:
        cart = self.get_cart(cart_id)
        orders = [self.order_view(self.orders[s.order_id], now)
                  for s in cart.stores.values() if s.order_id]
        return {"status": checkout_status([o["status"] for o in orders]), "orders": orders,
                "cart": self.cart_view(cart)}

    def truth(self, now: float) -> GroundTruth:
        carts = {
            c.id: CartTruth(c.id, tuple(c.lines()), c.created_at, c.submit_requests, c.submissions_processed,
                            {s.name: StoreTruth(s.name, tuple(s.lines), s.is_submitted, s.order_id)
                             for s in c.stores.values()})
            for c in self.carts.values()
        }
        orders = {}
        for o in self.orders.values():
            status, events, _ = self.order_state(o, now)
            cart = self.carts[o.cart_id]
            cost = self.store_cost(cart, cart.stores[o.store])
            orders[o.id] = OrderTruth(o.id, o.cart_id, o.store, tuple(o.lines), status,
                                      tuple(e["__typename"] for e in events),
                                      cost.total, self.currency(cart.lines()))
        return GroundTruth(carts=carts, orders=orders)


def checkout_status(statuses: list[str]) -> str:
    if not statuses:
        return "PENDING"
    if "ACTION_REQUIRED" in statuses:
        return "ACTION_REQUIRED"
    if "ON_HOLD" in statuses:  # newer_api only
        return "ON_HOLD"
    if any(s in ("PENDING", "PROCESSING") for s in statuses):
        return "PROCESSING"
    if all(s == "SUCCEEDED" for s in statuses):
        return "SUCCEEDED"
    if all(s == "FAILED" for s in statuses):
        return "FAILED"
    return "PARTIALLY_SUCCEEDED" if "SUCCEEDED" in statuses else "MIXED"
