"""What the simulator says about a product, a variant and a store's offer, shaped as Rye's types.

Plain values, no I/O. Every non-null field of AmazonProduct, ShopifyVariant and the offers
(schema.graphql) has a value, so any document valid against the schema can be answered.
"""

from __future__ import annotations

from typing import Any

from batch_runner.simulator.pricing import price, shipping_of

_EPOCH = "2024-01-01T00:00:00Z"


def amazon_product(product_id: str) -> dict[str, Any]:
    return {
        "__typename": "AmazonProduct", "id": product_id, "ASIN": product_id,
        "title": f"Simulated product {product_id}",
        "titleExcludingVariantName": f"Simulated product {product_id}",
        "description": "", "vendor": "Simulator", "marketplace": "AMAZON",
        "url": f"https://www.amazon.com/dp/{product_id}", "isAvailable": True, "price": None,
        "categories": [], "featureBullets": [], "images": [], "protectionPlans": [],
        "specifications": [], "tags": [], "variants": [], "videos": [],
        "ratingsTotal": 0, "reviewsTotal": 0,
    }


def shopify_variant(variant_id: str) -> dict[str, Any]:
    image = {"__typename": "ShopifyImage", "id": f"img-{variant_id}", "url": "https://cdn.example/x.png",
             "height": 1, "width": 1, "position": 1, "variantIDs": [variant_id],
             "createdAt": _EPOCH, "updatedAt": _EPOCH}
    return {
        "__typename": "ShopifyVariant", "id": variant_id, "SKU": variant_id,
        "title": f"Simulated variant {variant_id}", "name": f"Simulated variant {variant_id}",
        "image": image, "isAvailable": True, "isShippingRequired": True, "isTaxable": True,
        "price": "0.00", "priceCents": 0, "compareAtPrice": "0.00", "weight": 0,
    }


def offer(amazon: bool, store: str, currency: str) -> dict[str, Any]:
    """An AmazonOffer or ShopifyOffer with one standard shipping method: the same shipping the
    cart's cost counts for this store (pricing.SHIPPING), in the cart's currency."""
    shipping = price(shipping_of(store), currency)
    method = {"id": "standard", "label": "Standard", "price": shipping, "taxes": None,
              "total": shipping}
    view: dict[str, Any] = {"errors": [], "notAvailableIds": [], "shippingMethods": [method],
                            "selectedShippingMethod": None, "subtotal": None, "margin": None}
    if amazon:
        view["productDeliveryEstimateRanges"] = []
    return view
