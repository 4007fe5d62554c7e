"""The variables sent with the GraphQL documents of queries.py: line items and addresses as
Rye's input types spell them.
"""

from __future__ import annotations

from batch_runner.core.model import Address, LineItem, Marketplace


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
