"""Rye's GraphQL API over aiohttp: one pooled session, typed answers, one exception boundary.

Every answer is a value (see the result types below). The only exceptions that leave this
module are AuthRefused (the key was refused: the run stops), CertificateRefused (the API's TLS
certificate failed verification: the run stops), TlsFailed (no TLS handshake, e.g. https to a
plain-HTTP port), GateClosed (the run is stopping: not sent) and bugs. `OutcomeUnknown` is its
own type so that a submitCart whose fate is unknown can never be resent by accident.

With an OutageWatch (`gate`), every request first passes its gate, and each request's fate is
reported to it: transport failures and a gateway's 502/503/504 count against the API's
reachability, any other answer proves it. A request that never reached the API is sent again
by the client itself at the breaker's pace, so an outage is waited out by one probe
at a time rather than by every cart flow on its own schedule; only the outage budget ends it.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeAlias

import aiohttp
import orjson
import yarl

from batch_runner import queries
from batch_runner.core.model import Address, LineItem, Marketplace
from batch_runner.core.money import CartCost, is_currency
from batch_runner.core.proxy import ProxySettingError, proxy_for
from batch_runner.core.snapshot import CheckoutView, EventView, RyeOrderView
from batch_runner.errors import AuthRefused, CertificateRefused, ConfigError, TlsFailed
from batch_runner.limits import Ticket, TierLimits
from batch_runner.outage import GateClosed, OutageWatch, Permit
from batch_runner.schema_check import INTROSPECTION_QUERY

#: Answers larger than this are refused: no legitimate answer for one cart comes near it.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: 429s resent in a row before the call is reported as failed (each waits for the window).
MAX_RATE_LIMITED_RESENDS = 20
#: The introspection answer describes the whole API, so it may be larger than any cart's answer.
MAX_SCHEMA_BYTES = 16 * 1024 * 1024
#: The operation name the introspection query goes by, in the limiter (Default tier) and messages.
INTROSPECTION = "introspection"
#: Statuses a gateway answers when the API behind it is away: they count as failed attempts.
GATEWAY_DOWN = frozenset({502, 503, 504})
#: Operations sent again at the gate, while the API is away, when a gateway answers for it.
RESENT_IN_OUTAGE = frozenset({"createCart", "getCart", "checkoutByCartID"})


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
BeforeSend: TypeAlias = Callable[[], None] | None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: dict[str, Any] | None


class _Transport(Exception):
    """Internal: a request failed in transit. `sent` says whether the API may have seen it."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def check_api_url(url: str) -> None:
    """Any API URL other than loopback must be HTTPS (certificates are always verified).

    The URL is judged as yarl parses it, the parser aiohttp connects with, so no spelling can
    make this check and the connection disagree about the host (urllib reads the host of
    "http://evil.example\\@127.0.0.1/" as 127.0.0.1; yarl refuses it).
    """
    try:
        parts = yarl.URL(url)
    except (ValueError, TypeError):
        raise ConfigError(f"API URL {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ConfigError(f"API URL {url!r} is not an http(s) URL")
    if parts.raw_user is not None or parts.raw_password is not None:
        raise ConfigError(
            "API URL must not carry a user name or password (the part before '@'): the key "
            "comes only from RYE_API_KEY, and 'http://127.0.0.1@host' names host, not loopback."
        )
    if parts.scheme == "https":
        return
    host = parts.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigError(
            f"API URL {url!r} uses plain http to a remote host; the API key and buyer data "
            "would cross the network unencrypted. Use https:// (plain http is allowed only "
            "for loopback, e.g. the built-in simulator)."
        )


@contextlib.contextmanager
def _map_transport_errors() -> Iterator[None]:
    """The one boundary where aiohttp and timeout errors become _Transport.

    Only a failure to connect proves the API never saw the request. Once a connection exists,
    the request may have been written and processed even if no answer (or no headers) came
    back, so a read timeout or a lost connection is an unknown outcome, never "not sent".
    """
    try:
        yield
    except aiohttp.ClientConnectorCertificateError as exc:  # before ClientConnectorError
        raise CertificateRefused(
            f"cannot verify the TLS certificate of {exc.host}:{exc.port} "
            f"({exc.certificate_error}); nothing was sent. Certificates are always verified: if "
            "your network inspects TLS with its own CA, point SSL_CERT_FILE at a PEM bundle that "
            "includes it, then rerun with the same --out to resume."
        ) from None
    except aiohttp.ClientConnectorSSLError as exc:  # before ClientConnectorError
        if "WRONG_VERSION_NUMBER" not in str(exc.os_error):
            # A handshake cut short (a balancer restarting): an outage the gate waits out.
            raise _Transport(f"TLS handshake failed: {exc.os_error}", sent=False) from None
        raise TlsFailed(
            f"no TLS connection to {exc.host}:{exc.port} ({exc.os_error}); nothing was sent. "
            "This is not an outage: the server there does not complete a TLS handshake. If the "
            "message says WRONG_VERSION_NUMBER, --api-url says https:// for a port that speaks "
            "plain HTTP (or a proxy intercepts TLS). Fix --api-url, then rerun with the same "
            "--out to resume."
        ) from None
    except aiohttp.ConnectionTimeoutError as exc:
        raise _Transport(f"connect timeout ({type(exc).__name__})", sent=False) from None
    except aiohttp.ClientConnectorError as exc:
        raise _Transport(f"cannot connect: {exc.os_error}", sent=False) from None
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise _Transport("read timeout", sent=True) from None
    except aiohttp.ClientError as exc:
        raise _Transport(f"connection lost ({type(exc).__name__})", sent=True) from None


def _basic_auth(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode("ascii")


class RyeClient:
    """Use as `async with RyeClient(...) as client:`; create inside the running event loop."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        shopper_ip: str | None,
        limits: TierLimits,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        max_connections: int = 32,
        gate: OutageWatch | None = None,
    ) -> None:
        check_api_url(url)
        self._url = url
        self._auth = _basic_auth(api_key)
        self._shopper_ip = shopper_ip
        self.limits = limits
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._max_connections = max_connections
        self._gate = gate
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<RyeClient url={self._url!r}>"

    async def __aenter__(self) -> Self:
        try:
            proxy = proxy_for(self._url, os.environ)
        except ProxySettingError as exc:  # every command builds a client: one message for all
            raise ConfigError(str(exc)) from None
        connector = aiohttp.TCPConnector(limit=self._max_connections)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            # HTTPS_PROXY / NO_PROXY as curl reads them, loopback never proxied. Not trust_env:
            # it would proxy loopback and add ~/.netrc logins beside our Authorization header.
            proxy=proxy,
            json_serialize=lambda obj: orjson.dumps(obj).decode(),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- operations -------------------------------------------------------------------------

    async def create_cart(
        self, items: tuple[LineItem, ...], buyer: Address, *, before_send: BeforeSend = None
    ) -> CreateResult:
        variables = _create_variables(items, buyer)
        answer = await self._answer("createCart", queries.CREATE_CART, variables,
                                    unknown_on_5xx=True, before_send=before_send)
        if not isinstance(answer, tuple):
            return answer
        _, data = answer
        try:
            cart = data["cart"]
            stores = cart["stores"]
            lines = tuple(line for store in stores for line in _store_lines(store))
            # The cart's errors, then each store's (only a store's name the products they concern).
            errors = _errors(data) + tuple(e for store in stores for e in _errors(store))
            return CartCreated(cart_id=str(cart["id"]), lines=lines, errors=errors,
                               cost=_cost(cart.get("cost")))
        except (KeyError, TypeError, ValueError) as exc:
            return OutcomeUnknown(reason=f"unexpected createCart answer ({exc!r})")

    async def submit_cart(
        self, cart_id: str, *, billing: Address, payment_token: str | None,
        before_send: BeforeSend = None,
    ) -> SubmitResult:
        """`before_send` runs after the rate limiter admits the request and right before it is
        sent (again before each resend after a 429): the journal's write-ahead hook."""
        answer = await self._answer(
            "submitCart", queries.SUBMIT_CART, _submit_variables(cart_id, billing, payment_token),
            unknown_on_5xx=True,
            before_send=before_send,
        )
        if not isinstance(answer, tuple):
            return answer
        reply, data = answer
        assert reply.body is not None
        retryable = (reply.body.get("extensions") or {}).get("retryable")
        try:
            stores = tuple(_store_submission(s) for s in (data.get("cart") or {}).get("stores", []))
        except (KeyError, TypeError, ValueError) as exc:
            return OutcomeUnknown(reason=f"unexpected submitCart answer ({exc!r})")
        return SubmitAnswer(
            stores=stores,
            errors=_errors(data),
            retryable=retryable if isinstance(retryable, bool) else None,
        )

    async def cart_cost(self, cart_id: str) -> CostResult:
        """getCart (Default tier, read-only): the cart's cost, None when Rye gives none."""
        answer = await self._answer("getCart", queries.GET_CART, {"id": cart_id},
                                    unknown_on_5xx=False)
        if not isinstance(answer, tuple):
            return answer
        _, data = answer
        return _cost((data.get("cart") or {}).get("cost"))

    async def checkout(self, cart_id: str) -> PollResult:
        answer = await self._answer(
            "checkoutByCartID", queries.CHECKOUT_BY_CART_ID, {"cartID": cart_id},
            unknown_on_5xx=False,
        )
        if not isinstance(answer, tuple):
            return answer
        _, data = answer
        try:
            orders = tuple(_rye_order(o) for o in data.get("orders") or ())
            return CheckoutView(status=str(data.get("status")), orders=orders)
        except (KeyError, TypeError, ValueError) as exc:
            return NotSent(reason=f"unexpected checkoutByCartID answer ({exc!r})")

    async def introspect(self) -> Introspected | NotSent:
        """One introspection query through the Default tier: a read that creates nothing.

        NotSent when no answer came (cannot connect, timeout, connection lost, 429s throughout).
        Raises AuthRefused on 401/403, as every other operation does.
        """
        body = orjson.dumps({"query": INTROSPECTION_QUERY, "variables": {},
                             "operationName": "IntrospectionQuery"})
        for _ in range(MAX_RATE_LIMITED_RESENDS):
            ticket = await self.limits.acquire(INTROSPECTION)
            try:
                async with self._post(INTROSPECTION, body, max_bytes=MAX_SCHEMA_BYTES) as (
                    status, headers, payload,
                ):
                    kept = dict(headers)
            except _Transport as exc:
                return NotSent(reason=exc.reason)
            finally:
                self.limits.finished(ticket)
            if self.limits.observe(ticket, status, headers, now_unix=time.time()) and status == 429:
                continue
            _refuse_auth(status, INTROSPECTION)
            return Introspected(status=status, headers=kept, body=_json_object(payload),
                                oversize=payload is None)
        return NotSent(reason=f"rate limited {MAX_RATE_LIMITED_RESENDS} times in a row")

    # --- transport --------------------------------------------------------------------------

    async def _answer(
        self, operation: str, document: str, variables: Mapping[str, object], *,
        unknown_on_5xx: bool, before_send: BeforeSend = None,
    ) -> tuple[_Reply, dict[str, Any]] | Refused | NotSent | OutcomeUnknown:
        """One operation sent and its `data.<operation>` object, or why there is none."""
        reply = await self._call(operation, document, variables,
                                 unknown_on_5xx=unknown_on_5xx, before_send=before_send)
        if not isinstance(reply, _Reply):
            return reply
        data = _data(reply, operation)
        if data is None:  # garbled, not a refusal: the API may have processed it
            reason = f"HTTP {reply.status} answer with neither data.{operation} nor errors"
            return OutcomeUnknown(reason=reason) if unknown_on_5xx else NotSent(reason=reason)
        return data if isinstance(data, Refused) else (reply, data)

    async def _call(
        self, operation: str, document: str, variables: Mapping[str, object], *,
        unknown_on_5xx: bool, before_send: BeforeSend = None,
    ) -> _Reply | NotSent | OutcomeUnknown:
        body = orjson.dumps(
            {"query": document, "variables": variables, "operationName": None}
        )
        rate_limited = 0
        while rate_limited < MAX_RATE_LIMITED_RESENDS:
            sent = await self._send(operation, body, before_send)
            if isinstance(sent, _Transport):
                if self._resend_in_transit(sent):
                    continue  # at the breaker's pace: the gate holds it while the API is away
                if sent.sent and unknown_on_5xx:
                    return OutcomeUnknown(reason=sent.reason)
                return NotSent(reason=sent.reason)
            ticket, status, headers, payload = sent
            if self.limits.observe(ticket, status, headers, now_unix=time.time()) and status == 429:
                rate_limited += 1
                continue
            if self._resend_in_outage(operation, status):
                continue  # held at the gate with every other request until the API is back
            return self._interpret(operation, status, payload, unknown_on_5xx=unknown_on_5xx)
        return NotSent(reason=f"rate limited {MAX_RATE_LIMITED_RESENDS} times in a row")

    def _resend_in_transit(self, failure: _Transport) -> bool:
        """Whether the client sends again itself, through the gate: only a request that never
        reached the API (no connection), which cannot have had any effect. One the API may have
        seen goes back to the cart flow (an unknown outcome, a failed poll), which knows what
        is safe; a poll is never retried in a tight loop here against an API that answers."""
        return self._gate is not None and not failure.sent

    def _resend_in_outage(self, operation: str, status: int) -> bool:
        """Whether the client sends again itself a gateway's 502/503/504 answer: only while the
        whole API is away (the breaker open, not one stray 503), and only where a second request
        is harmless: a read, or a createCart (a cart made twice costs nothing). A long outage is
        then ended by the outage budget, not by each cart flow's attempts; a submitCart goes
        back to its flow, which polls before anything else (SPEC step 3)."""
        return (self._gate is not None and status in GATEWAY_DOWN
                and operation in RESENT_IN_OUTAGE and not self._gate.answering())

    async def _send(
        self, operation: str, body: bytes, before_send: BeforeSend
    ) -> tuple[Ticket, int, Mapping[str, str], bytes | None] | _Transport:
        """One request through the outage gate and the rate limiter, its fate told to the gate."""
        permit = await self._gate.admit(operation) if self._gate is not None else None
        fate: str | None = None  # None: never sent (cancelled, or the run is stopping)
        try:
            ticket = await self._acquire(operation)
            try:
                if before_send is not None:
                    before_send()
                async with self._post(operation, body) as (status, headers, payload):
                    pass
            except _Transport as exc:
                fate = exc.reason
                return exc
            finally:
                self.limits.finished(ticket)
            fate = f"HTTP {status} from the API" if status in GATEWAY_DOWN else ""
            return ticket, status, headers, payload
        finally:
            self._report(permit, fate)

    async def _acquire(self, operation: str) -> Ticket:
        """The rate limiter's ticket; a wait the run's stop (or the deadline) cuts short."""
        if self._gate is None:
            return await self.limits.acquire(operation)
        with self._gate.holding(operation):
            ticket = await self.limits.acquire(operation)
            try:
                self._gate.check_open(operation)  # refused while the limiter made it wait
            except GateClosed:
                self.limits.finished(ticket)
                raise
            return ticket
        raise GateClosed  # the wait was cut: refused or stopping, nothing sent

    def _report(self, permit: Permit | None, fate: str | None) -> None:
        if self._gate is None or permit is None:
            return
        if fate is None:
            self._gate.abandoned(permit)
        elif fate:
            self._gate.failed(permit, fate)
        else:
            self._gate.answered(permit)

    @contextlib.asynccontextmanager
    async def _post(
        self, operation: str, body: bytes, *, max_bytes: int = MAX_BODY_BYTES
    ) -> AsyncIterator[tuple[int, Mapping[str, str], bytes | None]]:
        assert self._session is not None, "use RyeClient as an async context manager"
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        if operation == "submitCart" and self._shopper_ip:
            headers["Rye-Shopper-IP"] = self._shopper_ip
        with _map_transport_errors():
            async with self._session.post(self._url, data=body, headers=headers) as response:
                payload = await _read_bounded(response, max_bytes)
                yield response.status, response.headers, payload

    def _interpret(
        self, operation: str, status: int, payload: bytes | None, *, unknown_on_5xx: bool
    ) -> _Reply | NotSent | OutcomeUnknown:
        _refuse_auth(status, operation)
        if status >= 500 or status == 408:
            reason = f"HTTP {status} from the API"
            return OutcomeUnknown(reason=reason) if unknown_on_5xx else NotSent(reason=reason)
        if payload is None:
            return OutcomeUnknown(reason=f"answer larger than {MAX_BODY_BYTES} bytes refused")
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            reason = f"HTTP {status} with a body that is not JSON"
            return OutcomeUnknown(reason=reason) if unknown_on_5xx else NotSent(reason=reason)
        if not isinstance(parsed, dict):
            return OutcomeUnknown(reason="answer is not a JSON object")
        return _Reply(status, parsed)


def _refuse_auth(status: int, operation: str) -> None:
    if status in (401, 403):
        raise AuthRefused(
            f"Rye refused the API key (HTTP {status}) on {operation}. Check RYE_API_KEY "
            "(keys are per environment: a staging key fails on production), then rerun "
            "with the same --out to resume."
        )


def _json_object(payload: bytes | None) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(payload) if payload is not None else None
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


async def _read_bounded(
    response: aiohttp.ClientResponse, max_bytes: int = MAX_BODY_BYTES
) -> bytes | None:
    """The whole body, however many reads it takes, or None (connection dropped) past the bound.

    (`content.read(n)` returns whatever has arrived, so one call is not the whole body.)
    """
    if response.content_length is not None and response.content_length > max_bytes:
        response.close()
        return None
    chunks, size = [], 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


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


def _create_variables(items: tuple[LineItem, ...], buyer: Address) -> dict[str, object]:
    return {"input": {"items": _cart_items(items), "buyerIdentity": _buyer(buyer)}}


def _submit_variables(cart_id: str, billing: Address, token: str | None) -> dict[str, object]:
    submit_input: dict[str, object] = {"id": cart_id, "billingAddress": _billing(billing)}
    if token:
        submit_input["token"] = token
    return {"input": submit_input}


def sample_variables() -> dict[str, dict[str, object]]:
    """Variables shaped exactly as the client sends them (every optional field filled), per
    operation: the live-schema check validates them against the server's input types."""
    address = Address(first_name="Ada", last_name="Lovelace", email="ada@example.com",
                      phone="2125550100", address1="1460 Broadway", address2="Floor 2",
                      city="New York", province_code="NY", postal_code="10036", country_code="US")
    items = (LineItem(marketplace=Marketplace.AMAZON, product_id="B00A2KD8NY", quantity=1),
             LineItem(marketplace=Marketplace.SHOPIFY, product_id="44000000000101", quantity=2))
    return {
        "createCart": _create_variables(items, address),
        "submitCart": _submit_variables("sample-cart-id", address, "sample-token"),
        "checkoutByCartID": {"cartID": "sample-cart-id"},
        "getCart": {"id": "sample-cart-id"},
    }


def _cart_items(items: tuple[LineItem, ...]) -> dict[str, list[dict[str, object]]]:
    amazon = [
        {"productId": i.product_id, "quantity": i.quantity}
        for i in items if i.marketplace is Marketplace.AMAZON
    ]
    shopify = [
        {"variantId": i.product_id, "quantity": i.quantity}
        for i in items if i.marketplace is Marketplace.SHOPIFY
    ]
    return {"amazonCartItemsInput": amazon, "shopifyCartItemsInput": shopify}


_ADDRESS_FIELDS = {
    "first_name": "firstName", "last_name": "lastName", "phone": "phone",
    "address1": "address1", "address2": "address2", "city": "city",
    "province_code": "provinceCode", "postal_code": "postalCode", "country_code": "countryCode",
}


def _billing(address: Address) -> dict[str, str]:
    return {
        api: value for py, api in _ADDRESS_FIELDS.items()
        if (value := getattr(address, py)) is not None
    }


def _buyer(address: Address) -> dict[str, str]:
    out = _billing(address)
    if address.email:
        out["email"] = address.email
    return out
