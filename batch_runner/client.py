"""Rye's GraphQL API over aiohttp: one pooled session, typed answers, one exception boundary.

Every answer is a value (the types of rye_answers.py). The only exceptions that leave this
module are AuthRefused (the key was refused: the run stops), CertificateRefused, TlsFailed and
ProxyRefused (no TLS connection, or the proxy refused us: see transport.py), GateClosed (the run is stopping: not sent) and
bugs.

With an OutageWatch (`gate`), every request first passes its gate, and each request's fate is
reported to it: transport failures and a gateway's 502/503/504 count against the API's
reachability, any other answer proves it. A request that never reached the API is sent again
by the client itself at the breaker's pace, so an outage is waited out by one probe
at a time rather than by every cart flow on its own schedule; only the outage budget ends it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Self, TypeAlias

import aiohttp
import orjson

from batch_runner import queries
from batch_runner.core.model import Address, LineItem
from batch_runner.core.proxy import ProxySettingError, proxy_for
from batch_runner.core.snapshot import CheckoutView
from batch_runner.errors import AuthRefused, ConfigError
from batch_runner.limits import Ticket, TierLimits
from batch_runner.outage import GateClosed, OutageWatch, Permit
from batch_runner.rye_answers import (
    CartCreated,
    CostResult,
    CreateResult,
    Introspected,
    NotSent,
    OutcomeUnknown,
    PollResult,
    Refused,
    SubmitAnswer,
    SubmitResult,
    _cost,
    _data,
    _errors,
    _json_object,
    _Reply,
    _rye_order,
    _store_lines,
    _store_submission,
)
from batch_runner.rye_variables import _create_variables, _submit_variables
from batch_runner.schema_check import INTROSPECTION_QUERY
from batch_runner.transport import _map_transport_errors, _Transport, check_api_url

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

BeforeSend: TypeAlias = Callable[[], None] | None


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
        reached the API (no connection), which cannot have had any effect, and only while the
        API is away (the breaker not closed). Against an API that answers others, the failure
        goes back to the cart flow, whose attempts are bounded; so does one the API may have
        seen (an unknown outcome, a failed poll), as the flow knows what is safe."""
        return self._gate is not None and not failure.sent and not self._gate.answering()

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

