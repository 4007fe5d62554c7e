"""Every GraphQL document the client sends is valid against Rye's schema as the simulator has it.

schema.graphql is audited against Rye's generated types (tests/simulator/test_schema_audit.py
pins its abstract kinds), so a document valid here selects nothing Rye refuses: on a union such
as Store, only __typename and inline fragments.
"""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from batch_runner import queries
from batch_runner.simulator.app import SCHEMA, SCHEMA_NEWER
from tests.schema_drift import SDL, remove_field


@pytest.mark.parametrize("schema", [SCHEMA, SCHEMA_NEWER], ids=["rye", "newer_api"])
@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_client_document_validates_against_schema(name: str, schema: GraphQLSchema) -> None:
    """The document the client sends for this operation has no validation errors."""
    errors = validate(schema, parse(queries.ALL_DOCUMENTS[name]))
    assert [e.message for e in errors] == []


def test_every_operation_the_client_sends_is_listed() -> None:
    """ALL_DOCUMENTS names each document by the root field it selects, and none is left out."""
    documents = {value for name, value in vars(queries).items()
                 if name.isupper() and isinstance(value, str)
                 and value.lstrip().startswith(("query ", "mutation "))}
    assert documents == set(queries.ALL_DOCUMENTS.values())
    for root, document in queries.ALL_DOCUMENTS.items():
        assert f"{root}(" in document


def test_a_misspelt_argument_is_rejected() -> None:
    """The schema is strict enough to catch the error guide's `checkoutByCartID(id:)` spelling."""
    bad = queries.CHECKOUT_BY_CART_ID.replace("cartID: $cartID", "id: $cartID")
    assert validate(SCHEMA, parse(bad))


def test_selecting_a_member_s_field_on_the_store_union_is_rejected() -> None:
    """The pre-issue-11 createCart (`store` and `cartLines` on the union) does not validate."""
    bad = queries.CREATE_CART.replace("stores { ...StoreLines }", "stores { store cartLines { quantity } }")
    messages = [e.message for e in validate(SCHEMA, parse(bad))]
    assert messages[0].startswith("Cannot query field 'store' on type 'Store'.")


@pytest.mark.parametrize(("type_names", "field"), [
    (("SubmitStoreResult", "AmazonStore", "ShopifyStore"), "orderId"),  # the generated types
    (("SubmitStoreResult", "AmazonStore", "ShopifyStore"), "requestId"),  # the newest pages
])
def test_documents_validate_with_either_name_of_a_store_s_order_id(
    type_names: tuple[str, ...], field: str,
) -> None:
    """Rye's sources disagree on a store's order id (orderId vs requestId); NOTES.md asks the
    runner to work with either, so no document may select one of the two."""
    sdl = SDL
    for type_name in type_names:
        sdl = remove_field(type_name, field, sdl)
    schema = build_schema(sdl)
    for name, document in queries.ALL_DOCUMENTS.items():
        assert [e.message for e in validate(schema, parse(document))] == [], name
