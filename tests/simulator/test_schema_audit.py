"""The simulator's schema is Rye's: abstract kinds pinned, doc pages validated, answers that fit.

Sources of the tables below: rye-com/rye-sdk src/graphql/graphql.ts (commit 6951946, generated
from Rye's schema) and shared/rye-api/docs; schema.graphql names the source of every type.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_enum_type,
    is_interface_type,
    is_scalar_type,
    is_union_type,
    parse,
    specified_scalar_types,
    validate,
)
from graphql.execution.values import get_variable_values

from batch_runner import queries
from batch_runner.simulator import Behaviour, running_simulator
from batch_runner.simulator.app import SCHEMA, SCHEMA_NEWER
from tests.simulator.rye_docs_documents import DOCUMENTS, ERRATA, VARIABLES
from tests.simulator.test_server import cfg, post

ORDER_EVENTS = frozenset({
    "OrderSubmissionStartedOrderEvent", "OrderSubmissionSucceededOrderEvent",
    "OrderPlacedOrderEvent", "OrderFailedOrderEvent", "PaymentSucceededOrderEvent",
    "PaymentFailedOrderEvent", "PaymentRefundedOrderEvent", "TrackingObtainedOrderEvent",
    "OrderCancelStartedOrderEvent", "OrderCancelSucceededOrderEvent", "OrderCancelFailedOrderEvent",
})
#: Every abstract type the schema declares: its kind in Rye's types, and its members.
#: `export type Store = AmazonStore | ShopifyStore` is a union; `export type OrderEvent = {...}`
#: with `X = OrderEvent & {...}` is an interface. OrderLineItem is known from the error guide only.
ABSTRACT_KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "Store": ("union", frozenset({"AmazonStore", "ShopifyStore"})),
    "CartLine": ("union", frozenset({"AmazonCartLine", "ShopifyCartLine"})),
    "CartErrorDetails": ("union", frozenset({"AddressValidationErrorDetails"})),
    "OrderRequiredAction": ("union", frozenset({"CompletePaymentChallenge"})),
    "OrderLineItem": ("union", frozenset({"AmazonLineItem", "ShopifyLineItem"})),
    "OrderEvent": ("interface", ORDER_EVENTS),
    "Image": ("interface", frozenset({"AmazonImage", "ShopifyImage"})),
    "Variant": ("interface", frozenset({"AmazonVariant", "ShopifyVariant"})),
    "Product": ("interface", frozenset({"AmazonProduct"})),
}


def _abstract_kinds(schema: GraphQLSchema) -> dict[str, tuple[str, frozenset[str]]]:
    out = {}
    for name, named in schema.type_map.items():
        if name.startswith("__") or not (is_union_type(named) or is_interface_type(named)):
            continue
        kind = "union" if is_union_type(named) else "interface"
        members = frozenset(t.name for t in schema.get_possible_types(named))
        out[name] = (kind, members)
    return out


def _fields(type_name: str) -> dict[str, str]:
    named = SCHEMA.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    return {name: str(f.type) for name, f in named.fields.items()}


def test_every_abstract_type_has_rye_s_kind_and_members() -> None:
    """A union that became an interface (or the reverse), a member lost or an abstract type
    added without being pinned here fails this test."""
    assert _abstract_kinds(SCHEMA) == ABSTRACT_KINDS


def test_price_and_cart_cost_are_exactly_rye_s() -> None:
    """What a spend guard reads: Price.value an Int in minor units, currency the Currency enum;
    Cart.cost, shipping, tax and total nullable (not priced yet)."""
    assert _fields("Price") == {"currency": "Currency!", "displayValue": "String!", "value": "Int!"}
    assert _fields("CartCost") == {
        "isEstimated": "Boolean!", "margin": "Price!", "shipping": "Price", "subtotal": "Price!",
        "tax": "Price", "total": "Price",
    }
    assert _fields("Cart")["cost"] == "CartCost"
    assert is_enum_type(SCHEMA.type_map["Currency"])


def test_custom_scalars_are_rye_s_and_country_is_an_enum() -> None:
    """Rye's custom scalars are Time and URL; a country is an enum value, not any string."""
    custom = {name for name, t in SCHEMA.type_map.items()
              if is_scalar_type(t) and name not in specified_scalar_types}
    assert custom == {"Time", "URL"}
    assert is_enum_type(SCHEMA.type_map["Country"])


def test_the_newer_api_keeps_every_abstract_kind() -> None:
    """The newer-API schema (SimConfig.newer_api) only adds members; it changes no kind."""
    kinds = _abstract_kinds(SCHEMA_NEWER)
    assert {name: kind for name, (kind, _) in kinds.items()} == {
        name: kind for name, (kind, _) in ABSTRACT_KINDS.items()}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_rye_docs_documents_validate(name: str) -> None:
    """Every document on Rye's pages validates against the simulator's schema."""
    assert validate(SCHEMA, parse(DOCUMENTS[name])) == []


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_rye_docs_example_variables_fit_the_inputs(name: str) -> None:
    """The pages' example variables (billing address, cartSettings, token) are accepted."""
    operation = parse(DOCUMENTS[name]).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), VARIABLES[name])
    assert not isinstance(coerced, list), [e.message for e in coerced]  # a list is errors


@pytest.mark.parametrize("name", sorted(ERRATA))
def test_rye_docs_errata_fail_for_the_named_reason(name: str) -> None:
    """A known erratum of the pages is refused, with exactly the messages listed for it."""
    document, reasons = ERRATA[name]
    assert tuple(e.message for e in validate(SCHEMA, parse(document))) == reasons


@pytest.mark.parametrize(
    ("billing", "field"),
    [
        ({"firstName": "A", "lastName": "B", "city": "C", "postalCode": "1", "countryCode": "US"},
         "address1"),
        ({"firstName": "A", "lastName": "B", "address1": "1", "city": "C", "postalCode": "1",
          "countryCode": "USA"}, "Country"),
        ({"firstName": "A", "lastName": "B", "address1": "1", "city": "C", "postalCode": "1",
          "countryCode": "US", "email": "a@b"}, "email"),
    ],
    ids=["billing_without_address1", "country_not_an_iso_code", "billing_has_no_email"],
)
def test_inputs_are_as_strict_as_rye_s(billing: dict[str, str], field: str) -> None:
    """BillingAddressInput requires address1, city, names and postalCode, has no email, and a
    country is one of Rye's Country values: what Rye refuses, the simulator refuses."""
    operation = parse(queries.SUBMIT_CART).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    variables = {"input": {"id": "c", "billingAddress": billing}}
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables)
    assert isinstance(coerced, list)
    assert field in coerced[0].message


async def test_the_simulator_refuses_store_selected_on_the_union() -> None:
    """The document of issue 11 (`store` selected on the union Store) is refused with Rye's
    words, and no cart is created."""
    bad = """mutation CreateCart($input: CartCreateInput!) {
      createCart(input: $input) { cart { id stores { store cartLines { quantity } } } }
    }"""
    items = {"amazonCartItemsInput": [{"productId": "B00A2KD8NY", "quantity": 1}]}
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        status, _, body = await post(session, sim.url, bad,
                                     {"input": {"items": items, "buyerIdentity": {"countryCode": "US"}}})
        carts = sim.truth().carts
    assert status == 200
    assert "data" not in body
    assert body["errors"][0]["message"] == (
        "Cannot query field 'store' on type 'Store'. "
        "Did you mean to use an inline fragment on 'AmazonStore' or 'ShopifyStore'?")
    assert not carts


def _ok(body: dict[str, Any]) -> dict[str, Any]:
    """The answer's data, asserting it has no errors (a null non-null field would be one)."""
    assert "errors" not in body, body["errors"]
    data = body["data"]
    assert all(value is not None for value in data.values()), data
    return dict(data)


def _fill(value: Any, replace: dict[str, str]) -> Any:
    """`value` with the placeholders of `replace` replaced in every string it holds."""
    if isinstance(value, dict):
        return {k: _fill(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, replace) for v in value]
    if isinstance(value, str):
        for placeholder, real in replace.items():
            value = value.replace(placeholder, real)
    return value


async def _run(session: aiohttp.ClientSession, url: str, name: str, **replace: str) -> dict[str, Any]:
    """A doc page's document with its example variables, placeholders replaced."""
    document, variables = _fill(DOCUMENTS[name], replace), _fill(VARIABLES.get(name, {}), replace)
    _, _, body = await post(session, url, document, variables)
    return _ok(body)


async def _wait_final(session: aiohttp.ClientSession, url: str, cart_id: str) -> dict[str, Any]:
    """checkoutByCartID_reference until every order is SUCCEEDED or FAILED (bounded)."""
    for _ in range(500):
        data = await _run(session, url, "checkoutByCartID_reference", **{"{{cartId}}": cart_id})
        orders = data["checkoutByCartID"]["orders"]
        if orders and all(o["status"] in ("SUCCEEDED", "FAILED") for o in orders):
            return data
        await asyncio.sleep(0.01)
    raise AssertionError(f"orders of {cart_id} never final")


async def test_the_simulator_answers_every_doc_page_document_without_errors() -> None:
    """Run the pages' documents against the simulator through a cart's life (created, submitted,
    placed on Amazon, failed on Shopify, submitted again): every answer is data with no errors,
    so the resolvers fill every non-null field the pages select (requestId before submission,
    OrderFailedOrderEvent.reason, offers, ...)."""
    shopify = "44346795295022"
    config = cfg(script={shopify: Behaviour.PLACE_FAIL_FALSE})
    items = {"amazonCartItemsInput": [{"productId": "B00A2KD8NY", "quantity": 1}],
             "shopifyCartItemsInput": [{"quantity": 1, "variantId": shopify}]}
    async with running_simulator(config) as sim, aiohttp.ClientSession() as session:
        buyer = {"firstName": "John", "lastName": "Doe", "address1": "1460 Broadway",
                 "city": "New York City", "provinceCode": "NY", "countryCode": "US",
                 "postalCode": "10036"}
        _, _, body = await post(session, sim.url, DOCUMENTS["error_guide_helper_0"],
                                {"input": {"items": items, "buyerIdentity": buyer}})
        cart_id = _ok(body)["createCart"]["cart"]["id"]
        before = await _run(session, sim.url, "checkoutByCartID_reference", **{"{{cartId}}": cart_id})
        submitted = await _run(session, sim.url, "submitCart_reference", **{"{{cartId}}": cart_id})
        final = await _wait_final(session, sim.url, cart_id)
        await _run(session, sim.url, "error_guide_helper_2", **{"{{cartId}}": cart_id})
        for order in final["checkoutByCartID"]["orders"]:
            await _run(session, sim.url, "backend_ordering_orderByID", YOUR_ORDER_ID_HERE=order["id"])
        for again in ("submitCart_older", "error_guide_helper_1"):
            await _run(session, sim.url, again, **{"{{cartId}}": cart_id})
        await _run(session, sim.url, "backend_ordering_submitCart", YOUR_CART_ID_HERE=cart_id)
    stores = before["checkoutByCartID"]["cart"]["stores"]
    assert all(s["requestId"] and not s["isSubmitted"] for s in stores)
    assert {s["orderId"] for s in submitted["submitCart"]["cart"]["stores"]} == {
        s["requestId"] for s in stores}
    events = [e for o in final["checkoutByCartID"]["orders"] for e in o["events"]]
    assert {"OrderPlacedOrderEvent", "OrderFailedOrderEvent"} <= {e["__typename"] for e in events}
