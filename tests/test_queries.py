"""Every GraphQL document the client sends is valid against the simulator's schema."""

from __future__ import annotations

from importlib import resources

import pytest
from graphql import build_schema, parse, validate

from batch_runner import queries

SCHEMA = build_schema(
    (resources.files("batch_runner") / "simulator" / "schema.graphql").read_text()
)


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_client_document_validates_against_schema(name: str) -> None:
    """The document the client sends for this operation has no validation errors."""
    errors = validate(SCHEMA, parse(queries.ALL_DOCUMENTS[name]))
    assert errors == []


def test_a_misspelt_argument_is_rejected() -> None:
    """The schema is strict enough to catch the error guide's `checkoutByCartID(id:)` spelling."""
    bad = queries.CHECKOUT_BY_CART_ID.replace("cartID: $cartID", "id: $cartID")
    assert validate(SCHEMA, parse(bad))
