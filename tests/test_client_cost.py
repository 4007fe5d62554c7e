"""Cart.cost as the client reads it: integers in minor units, or None, never a guess."""

from __future__ import annotations

from typing import Any

import pytest

from batch_runner.core.money import CartCost
from batch_runner.rye_answers import _cost


def price(value: object, currency: object = "USD") -> dict[str, object]:
    return {"value": value, "currency": currency, "displayValue": "$?"}


FINAL: dict[str, Any] = {"isEstimated": False, "total": price(1234), "subtotal": price(1000),
                         "shipping": price(149), "tax": price(85)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (FINAL, CartCost(currency="USD", total=1234, subtotal=1000, shipping=149, tax=85)),
        ({**FINAL, "isEstimated": True},
         CartCost(currency="USD", total=1234, subtotal=1000, shipping=149, tax=85, estimated=True)),
        ({k: v for k, v in FINAL.items() if k != "isEstimated"},  # not said final: an estimate
         CartCost(currency="USD", total=1234, subtotal=1000, shipping=149, tax=85, estimated=True)),
        ({**FINAL, "total": None, "shipping": None, "tax": None},
         CartCost(currency="USD", total=None, subtotal=1000)),
        (None, None),
        ("12.34", None),
        ({**FINAL, "tax": price(85, "EUR")}, None),  # mixed currencies: unreadable
        ({**FINAL, "total": price(12.34)}, None),  # a float is not Rye's Int
        ({**FINAL, "total": price(-1)}, None),
        ({**FINAL, "total": price(True)}, None),
        ({**FINAL, "total": price(1234, "dollars")}, None),
        ({**FINAL, "total": "1234"}, None),
    ],
)
def test_cost_parsing(raw: object, expected: CartCost | None) -> None:
    """Each shape of Cart.cost becomes the CartCost it states, or None when it is not one."""
    assert _cost(raw) == expected
    if expected is not None:
        assert expected.final is (not expected.estimated and expected.total is not None)
