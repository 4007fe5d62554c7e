"""The live-schema verdict (schema_check.py): pure, from an introspection answer to checked,
mismatch or unavailable, naming operation, field and graphql-core's words."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, graphql_sync

from batch_runner import queries
from batch_runner.rye_variables import sample_variables
from batch_runner.schema_check import (
    INTROSPECTION_QUERY,
    SchemaOutcome,
    check_documents,
    judge_answer,
    schema_sha256,
)
from tests.schema_drift import SDL, deprecate_field, rename_argument, rename_field


def introspect(sdl: str) -> dict[str, Any]:
    """The body a server with this schema answers to the introspection query."""
    result = graphql_sync(build_schema(sdl), INTROSPECTION_QUERY)
    assert result.errors is None
    return {"data": result.data}


def judge(body: dict[str, Any] | None, status: int = 200) -> Any:
    return judge_answer(status, body, queries.ALL_DOCUMENTS, sample_variables())


def test_the_simulators_own_schema_passes_with_its_hash() -> None:
    """Every document and its variables validate against the built-in schema; the hash is its SDL's."""
    check = judge(introspect(SDL))
    assert check.outcome is SchemaOutcome.CHECKED
    assert check.mismatches == ()
    assert check.documents == len(queries.ALL_DOCUMENTS)
    assert check.sha256 == schema_sha256(build_schema(SDL))
    assert check.reachable


def test_a_renamed_checkout_field_names_operation_field_and_the_servers_words() -> None:
    """checkoutByCartID's `orders` renamed: one mismatch, with the path and graphql-core's message."""
    check = judge(introspect(rename_field("Checkout", "orders", "ryeOrders")))
    assert check.outcome is SchemaOutcome.MISMATCH
    [mismatch] = check.mismatches
    assert mismatch.operation == "checkoutByCartID"
    assert mismatch.field == "checkoutByCartID.orders"
    assert "Cannot query field 'orders' on type 'Checkout'" in mismatch.message
    assert "ryeOrders" in mismatch.message  # graphql-core's suggestion, from the live schema
    assert check.sha256 != schema_sha256(build_schema(SDL))


def test_a_field_drifted_inside_a_fragment_names_the_fragment() -> None:
    """A field read inside a fragment is named by its path within the fragment, and the fragment."""
    document = """
    query Q($id: ID!) { checkoutByCartID(cartID: $id) { orders { ...Lines } } }
    fragment Lines on Order {
      lineItems { ... on AmazonLineItem { productId quantity } }
    }
    """
    schema = build_schema(rename_field("AmazonLineItem", "productId", "asin"))
    [mismatch] = check_documents(schema, {"q": document}).mismatches
    assert (mismatch.operation, mismatch.field) == ("q", "lineItems.productId (in fragment Lines)")
    assert "Cannot query field 'productId' on type 'AmazonLineItem'" in mismatch.message


def test_a_renamed_argument_is_a_mismatch() -> None:
    """checkoutByCartID(cartID:) renamed to (id:): the document no longer validates."""
    check = judge(introspect(rename_argument("cartID", "id")))
    assert check.outcome is SchemaOutcome.MISMATCH
    assert any("cartID" in m.message for m in check.mismatches)


def test_a_drifted_input_field_is_caught_in_the_variables_the_client_sends() -> None:
    """The document still validates, but BillingAddressInput lost `postalCode`: the submitCart
    variables, shaped as the client sends them, are refused."""
    sdl = rename_field("BillingAddressInput", "postalCode", "zip")
    check = judge(introspect(sdl))
    assert check.outcome is SchemaOutcome.MISMATCH
    # Rye requires postalCode in a billing address: the renamed field is both missing and unknown.
    assert {(m.operation, m.field) for m in check.mismatches} == {("submitCart", "variables")}
    assert any("unknown field 'postalCode'" in m.message for m in check.mismatches)


def test_a_deprecated_field_in_use_is_reported_but_passes() -> None:
    """The server deprecates `isSubmitted`, which submitCart reads: checked, with a deprecation noted."""
    sdl = deprecate_field("SubmitStoreResult", "isSubmitted", "use rye_id")
    check = judge(introspect(sdl))
    assert check.outcome is SchemaOutcome.CHECKED
    [used] = check.deprecated
    assert (used.operation, used.field) == ("submitCart", "submitCart.cart.stores.isSubmitted")
    assert "use rye_id" in used.message


@pytest.mark.parametrize(
    ("status", "body", "reachable", "words"),
    [
        (200, {"errors": [{"message": "GraphQL introspection is not allowed"}]}, True,
         "the server refused introspection (HTTP 200): GraphQL introspection is not allowed"),
        (400, {"errors": [{"message": "introspection disabled"}]}, True, "HTTP 400"),
        (404, None, True, "HTTP 404, and the answer is not JSON"),
        (200, {"data": None}, True, "neither data.__schema nor errors"),
        (200, {"data": {"__schema": {"types": "nonsense"}}}, True, "not a usable schema"),
        (503, None, False, "HTTP 503"),
        (504, {"errors": [{"message": "Gateway Timeout"}]}, False, "HTTP 504"),
    ],
)
def test_answers_that_hold_no_schema_are_unavailable(
    status: int, body: dict[str, Any] | None, reachable: bool, words: str
) -> None:
    """A refusal, a page that is not JSON or a broken schema: unavailable, saying why, never a
    mismatch; only a 5xx counts as the API not reached."""
    check = judge(body, status)
    assert check.outcome is SchemaOutcome.UNAVAILABLE
    assert words in check.note
    assert check.reachable is reachable
    assert "\n" not in check.summary()


def test_a_long_refusal_is_cut_to_one_short_line() -> None:
    """A server's multi-line, very long refusal becomes one line of bounded length."""
    check = judge({"errors": [{"message": "no\n" * 1000}]})
    assert "\n" not in check.note
    assert len(check.note) <= 300


def test_every_document_has_variables_shaped_as_the_client_sends_them() -> None:
    """A document added without sample variables would have its input types left unchecked."""
    assert set(sample_variables()) == set(queries.ALL_DOCUMENTS)
