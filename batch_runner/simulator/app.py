"""The simulator's HTTP side: aiohttp on loopback, Rye's auth and headers, rate tiers, faults.

Every query is parsed and validated against schema.graphql (cached by query text) and executed
with graphql-core against the World. `/_sim/truth` serves the ground truth as JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    specified_rules,
    validate,
)

from batch_runner.errors import ConfigError
from batch_runner.simulator import persist
from batch_runner.simulator.config import (
    PROCESSED_FAULTS,
    Behaviour,
    Fault,
    SimConfig,
    chaos_mix,
)
from batch_runner.simulator.ratelimit import Tiers
from batch_runner.simulator.world import ApiFailure, GroundTruth, World

_SDL = (resources.files("batch_runner.simulator") / "schema.graphql").read_text()
SCHEMA: GraphQLSchema = build_schema(_SDL)
#: A newer API than the runner was written for (SimConfig.newer_api): values it has never seen.
NEWER_SDL = """
extend enum OrderStatus { ON_HOLD }
extend enum CheckoutStatus { ON_HOLD }
extend enum SubmitCartResultErrorCode { ORDER_LIMIT_EXCEEDED }
type OrderHeldOrderEvent implements OrderEvent { id: ID! createdAt: Time! holdReason: String }
type CompleteAddressVerification { verificationURL: URL! }
extend union OrderRequiredAction = CompleteAddressVerification
"""
SCHEMA_NEWER: GraphQLSchema = build_schema(_SDL + NEWER_SDL)
HTML_ERROR_PAGE = b"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Something went wrong</h1></body></html>"
#: Operations that change the World (saved to SimConfig.state_path after each).
MUTATIONS = frozenset({"createCart", "submitCart"})
TRANSPORT_ONCE = {
    Behaviour.SUBMIT_503_ONCE: "503", Behaviour.SUBMIT_RESET_ONCE: "reset",
    Behaviour.SUBMIT_504_AFTER_ONCE: "504_after", Behaviour.SUBMIT_SLOW_ONCE: "slow",
}


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    t: float
    operation: str
    cart_id: str | None
    http_status: int
    processed: bool
    tier: str


@dataclass(frozen=True, slots=True)
class _Document:
    node: DocumentNode | None
    errors: tuple[Any, ...]
    operation: str
    http_status: int = 200  #: of the answer when node is None (refused introspection: config)


def simulator_schema(config: SimConfig) -> GraphQLSchema:
    """The schema served: built in, or config.schema_path's SDL (plus the newer API's types)."""
    if config.schema_path is None:
        return SCHEMA_NEWER if config.newer_api else SCHEMA
    try:
        sdl = Path(config.schema_path).read_text(encoding="utf-8")
        return build_schema(sdl + NEWER_SDL if config.newer_api else sdl)
    except OSError as exc:
        raise ConfigError(f"cannot read schema file {config.schema_path}: "
                          f"{exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"schema file {config.schema_path} is not UTF-8 (byte {exc.start})") from None
    except (GraphQLError, TypeError) as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"schema file {config.schema_path} is not a GraphQL schema: {message}") from None


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers,
                        content_type="application/json")


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.world = World(config)
        #: True when the World was loaded from config.state_path (a resumed demo).
        self.resumed = (config.state_path is not None and persist.load(
            self.world, config.state_path, mono_now=time.monotonic(), wall_now=time.time()))
        self.tiers = Tiers(strict_rps=config.strict_rps, default_rps=config.default_rps,
                           shared_strict=config.shared_strict, limiter=config.limiter)
        self._documents: dict[str, _Document] = {}
        self._log: list[RequestLogEntry] = []
        self._down = False
        self._chaos = random.Random(config.seed + 1)
        self._faults: dict[str, deque[Fault | None]] = {}
        for operation, faults in config.faults.items():
            self.add_faults(operation, faults)
        self.schema = simulator_schema(config)
        self._rules = (None if config.refuse_introspection is None
                       else [*specified_rules, NoSchemaIntrospectionCustomRule])
        self.server: web.Server | None = None  #: set by running_simulator, to count connections
        self.peak_connections = 0  #: most TCP connections open at once, seen at request arrival
        self.peak_requests = 0  #: most requests being handled at once
        self._active = 0
        self.url = ""  #: set by running_simulator, with the port it listens on
        self.port = 0

    def __repr__(self) -> str:
        return f"<Simulator {self.url} carts={len(self.world.carts)} requests={len(self._log)}>"

    def truth(self) -> GroundTruth:
        return self.world.truth(time.monotonic())

    def request_log(self) -> tuple[RequestLogEntry, ...]:
        return tuple(self._log)

    def set_down(self, down: bool) -> None:
        self._down = down

    def add_faults(self, operation: str, faults: Sequence[Fault | None]) -> None:
        """Script the next requests of `operation` (after those already scripted)."""
        self._faults.setdefault(operation, deque()).extend(faults)

    @property
    def requests_in_progress(self) -> int:
        """Requests being handled now, e.g. slow answers the client stopped waiting for."""
        return self._active

    def faults_left(self, operation: str) -> int:
        return len(self._faults.get(operation, ()))

    def make_carts_unavailable(self, code: str, cart_ids: Iterable[str] | None = None) -> None:
        """From now on these carts (default: all so far) answer `code`: CART_NOT_FOUND_ERROR
        (the API forgot them) or CART_EXPIRED_ERROR (older than Rye keeps carts)."""
        for cart_id in list(self.world.carts) if cart_ids is None else cart_ids:
            self.world.gone[cart_id] = code

    def save_state(self) -> None:
        """Write the World to config.state_path, if set (after a change, and at shutdown)."""
        if self.config.state_path is not None:
            persist.save(self.world, self.config.state_path,
                         mono_now=time.monotonic(), wall_now=time.time())

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/v1/query", self.handle)
        app.router.add_get("/_sim/truth", self.handle_truth)
        app.router.add_get("/_sim/stats", self.handle_stats)
        return app

    async def handle_truth(self, request: web.Request) -> web.Response:
        return _json(self.truth())

    async def handle_stats(self, request: web.Request) -> web.Response:
        """Requests so far per tier and how many were refused with 429 (crash-loop benchmarks)."""
        stats: dict[str, int] = {}
        for entry in self._log:
            stats[entry.tier] = stats.get(entry.tier, 0) + 1
            if entry.http_status == 429:
                stats[f"{entry.tier}_429"] = stats.get(f"{entry.tier}_429", 0) + 1
        return _json(stats)

    def _document(self, query: str) -> _Document:
        cached = self._documents.get(query)
        if cached is None:
            try:
                node = parse(query)
            except GraphQLError as exc:
                cached = _Document(None, (exc.formatted,), "invalid")
            else:
                errors = validate(self.schema, node, self._rules)
                refused = any(e.message.startswith("GraphQL introspection has been disabled")
                              for e in errors)
                status = self.config.refuse_introspection if refused else None
                cached = _Document(None if errors else node, tuple(e.formatted for e in errors),
                                   _root_field(node), status or 200)
            if len(self._documents) < 1000:
                self._documents[query] = cached
        return cached

    def _authorized(self, request: web.Request) -> int:
        if not self.config.require_auth:
            return 200
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return 401
        try:
            key, sep, _ = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return 401
        if not sep or not key:
            return 401
        return 403 if key in self.config.refused_keys else 200

    def _record(self, op: str, cart_id: str | None, status: int, processed: bool) -> None:
        self._log.append(RequestLogEntry(time.monotonic(), op, cart_id, status, processed,
                                         self.tiers.bucket(op).tier))

    def _refuse_early(self, request: web.Request) -> web.Response | None:
        auth = self._authorized(request)
        if auth != 200:
            self._record("unknown", None, auth, False)
            return _json({"errors": [{"message": "Unauthorized"}]}, auth)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.server is not None:
            self.peak_connections = max(self.peak_connections, len(self.server.connections))
        self._active += 1
        self.peak_requests = max(self.peak_requests, self._active)
        try:
            return await self._handle(request)
        finally:
            self._active -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refuse_early(request)) is not None:
            return refused
        try:
            payload = orjson.loads(await request.read())
            query, variables = payload["query"], payload.get("variables") or {}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _json({"errors": [{"message": "Body must be JSON with a query"}]}, 400)
        doc = self._document(str(query))
        bucket = self.tiers.bucket(doc.operation)
        now = time.time() + self.config.clock_offset_s  # the server's clock: windows align to it
        unix = self.config.reset_style == "unix"
        cart_id = _cart_id(doc.operation, variables)
        if self._down:  # read first, so that the log names the operation and cart refused
            self._record(doc.operation, cart_id, 503, False)
            return _json({"errors": [{"message": "Service Unavailable"}]}, 503)
        if not bucket.take(now):
            self._record(doc.operation, cart_id, 429, False)
            return _json({"errors": [{"message": "Too Many Requests"}]}, 429,
                         bucket.headers(now, limited=True, unix=unix))
        headers = bucket.headers(now, limited=False, unix=unix)
        if doc.node is None:
            self._record(doc.operation, cart_id, doc.http_status, False)
            return _json({"errors": list(doc.errors)}, doc.http_status, headers)
        fault = self._fault(doc.operation, cart_id)
        if fault is not None and fault not in PROCESSED_FAULTS:
            limited = bucket.headers(now, limited=True, unix=unix)
            return self._unprocessed(fault, doc.operation, cart_id, request, headers, limited)
        if fault == Fault.SLOW:
            await asyncio.sleep(self.config.slow_s)
        body = self._execute(doc.node, variables, request)
        if doc.operation in MUTATIONS:
            self.save_state()  # before the answer leaves: the client never knows more than the file
        cart_id = _created_cart_id(body) if doc.operation == "createCart" else cart_id
        if fault == Fault.TIMEOUT_AFTER:
            self._record(doc.operation, cart_id, 504, True)
            return _json({"errors": [{"message": "Gateway Timeout"}]}, 504, headers)
        self._record(doc.operation, cart_id, 200, True)
        streamed = fault == Fault.HUGE_STREAMED
        return (await self._stream_huge(request, body, headers) if streamed
                else _json(self._shape(fault, body), 200, headers))

    async def _stream_huge(self, request: web.Request, body: dict[str, Any],
                           headers: dict[str, str]) -> web.StreamResponse:
        """The answer, then padding in chunks up to huge_body_bytes, with no Content-Length."""
        response = web.StreamResponse(status=200, headers=headers)
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b" " * (64 * 1024)  # JSON whitespace after the object
        try:
            await response.write(orjson.dumps(body))
            for _ in range(self.config.huge_body_bytes // len(chunk) + 1):
                await response.write(chunk)
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client stopped reading: what a bounded client does
        return response

    def _shape(self, fault: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """A processed answer, altered by the faults that keep it a 200."""
        if fault == Fault.SHRINK_ORDERS:
            checkout = (body.get("data") or {}).get("checkoutByCartID") or {}
            checkout["orders"] = checkout.get("orders", [])[1:]
        if fault in (Fault.HUGE, Fault.PADDED):
            size = self.config.huge_body_bytes if fault == Fault.HUGE else self.config.padded_body_bytes
            body["padding"] = "x" * max(0, size - len(orjson.dumps(body)))
        return body

    def _unprocessed(self, fault: str, operation: str, cart_id: str | None, request: web.Request,
                     headers: dict[str, str], limited: dict[str, str]) -> web.Response:
        """An answer from before the resolvers: 503, reset, scripted 429s, malformed answers."""
        if fault == Fault.UNAVAILABLE:
            self._record(operation, cart_id, 503, False)
            return _json({"errors": [{"message": "Service Unavailable"}]}, 503, headers)
        if fault == Fault.RESET:
            self._record(operation, cart_id, 0, False)
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault in (Fault.RATE_LIMITED, Fault.RATE_LIMITED_BARE):
            self._record(operation, cart_id, 429, False)
            refill = {**limited, "Ratelimit-Remaining": "0",
                      "Ratelimit-Reset": f"{self.config.fault_reset_s:g}"}
            return _json({"errors": [{"message": "Too Many Requests"}]}, 429,
                         refill if fault == Fault.RATE_LIMITED else None)
        self._record(operation, cart_id, 200, False)
        if fault == Fault.HTML:
            return web.Response(body=HTML_ERROR_PAGE, status=200, content_type="text/html")
        if fault == Fault.NO_DATA:
            return _json({"message": "internal error", "requestId": "sim"})
        return _json({"errors": [{"message": "Internal server error"}]})  # ERRORS_ONLY

    def _fault(self, operation: str, cart_id: str | None) -> str | None:
        scripted = self._faults.get(operation)
        fault = scripted.popleft() if scripted else self._pick_fault(operation, cart_id)
        unprocessed = fault is not None and fault not in PROCESSED_FAULTS and fault not in (
            Fault.RATE_LIMITED, Fault.RATE_LIMITED_BARE)
        if unprocessed and operation == "submitCart" and cart_id in self.world.carts:
            self.world.carts[cart_id].submit_requests += 1  # seen, not processed
        return fault

    def _pick_fault(self, operation: str, cart_id: str | None) -> str | None:
        if operation == "submitCart" and cart_id in self.world.carts:
            cart = self.world.carts[cart_id]
            for behaviour, fault in TRANSPORT_ONCE.items():
                for _, pid, _ in cart.lines():
                    if self.world.fires(pid, behaviour, f"{cart_id}:{pid}"):
                        return fault
        mix = chaos_mix(self.config)
        if not mix:
            return None
        roll = self._chaos.random()
        for fault, p in mix.items():
            if fault == "504_after" and operation != "submitCart":
                continue
            if roll < p:
                return fault
            roll -= p
        return None

    def _execute(self, node: DocumentNode, variables: dict[str, Any], request: web.Request) -> dict[str, Any]:
        ctx: dict[str, Any] = {"now": time.monotonic(), "retryable": "absent",
                               "shopper_ip": bool(request.headers.get("Rye-Shopper-IP")
                                                  or request.headers.get("x-rye-shopper-ip"))}
        result = execute(self.schema, node, root_value=_Root(self.world), context_value=ctx,
                         variable_values=variables)
        assert isinstance(result, ExecutionResult)  # every resolver is synchronous
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_format_error(e) for e in result.errors]
        if ctx["retryable"] != "absent":
            body["extensions"] = {"retryable": ctx["retryable"]}
        return body


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    if isinstance(error.original_error, ApiFailure):
        formatted["extensions"] = {"code": error.original_error.code}
    return formatted


class _Root:
    """Root resolvers: graphql-core calls these with (info, **arguments)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def createCart(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        cart, errors = self.world.create_cart(input["items"], input.get("buyerIdentity"),
                                              info.context["now"])
        return {"cart": self.world.cart_view(cart, first=True), "errors": errors}

    def submitCart(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        result, retryable, _ = self.world.submit_cart(input["id"], info.context["now"],
                                                      shopper_ip=info.context["shopper_ip"])
        if result["errors"] or any(s["errors"] for s in result["cart"]["stores"]):
            info.context["retryable"] = retryable
        return result

    def checkoutByCartID(self, info: Any, cartID: str) -> dict[str, Any]:
        return self.world.checkout_view(cartID, info.context["now"])

    def orderByID(self, info: Any, id: str) -> dict[str, Any] | None:
        order = self.world.orders.get(id)
        return self.world.order_view(order, info.context["now"]) if order else None

    def getCart(self, info: Any, id: str) -> dict[str, Any]:
        return {"cart": self.world.cart_view(self.world.get_cart(id)), "errors": []}


def _root_field(node: DocumentNode) -> str:
    for definition in node.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    return selection.name.value
    return "invalid"


def _created_cart_id(body: dict[str, Any]) -> str | None:
    created = (body.get("data") or {}).get("createCart") or {}
    value = (created.get("cart") or {}).get("id")
    return value if isinstance(value, str) else None


def _cart_id(operation: str, variables: dict[str, Any]) -> str | None:
    if operation in ("submitCart",):
        value = (variables.get("input") or {}).get("id")
    elif operation == "checkoutByCartID":
        value = variables.get("cartID")
    else:
        value = None
    return value if isinstance(value, str) else None


@asynccontextmanager
async def running_simulator(
    config: SimConfig, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Simulator]:
    """Start the simulator on loopback (a free port unless config.port is set) and stop it after.

    With `ssl_context` it serves HTTPS (tests of certificate verification)."""
    sim = Simulator(config)
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
    await site.start()
    sim.port = port = runner.addresses[0][1]
    sim.server = runner.server
    scheme = "https" if ssl_context is not None else "http"
    sim.url = f"{scheme}://{config.host}:{port}/v1/query"
    try:
        yield sim
    finally:
        await runner.cleanup()
        if sim.request_log():  # a simulator that served nothing leaves the file to its owner
            sim.save_state()
