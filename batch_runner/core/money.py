"""Amounts of money: integers in the currency's minor unit, never floats.

Rye's `Price.value` is an Int; its generated types (rye-com/rye-sdk src/graphql/graphql.ts) say
"For USD a multiplied by 100 to avoid floating point errors", i.e. cents. For other currencies
Rye says nothing more, so we read `value` in the currency's ISO 4217 minor unit (the exponent table
below; 2 where it does not list the currency). Amounts a person types (`--budget 500.00 USD`) are
parsed with Decimal into the same integers. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: ISO 4217 minor-unit exponents that are not 2 (the currencies of Rye's Currency enum).
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
}
#: Amounts a person may type are bounded: a budget past this is surely a typo.
MAX_AMOUNT = Decimal("1e12")


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def is_currency(text: str) -> bool:
    """An ISO 4217 code as Rye's Currency enum spells it: three capital letters."""
    return len(text) == 3 and text.isascii() and text.isalpha() and text.isupper()


def parse_decimal(text: str) -> Decimal:
    """A non-negative amount as typed ("500", "1234.50"); ValueError if it is not one."""
    cleaned = text.strip().replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValueError(f"{text!r} is not an amount between 0 and {MAX_AMOUNT:,.0f}")
    return value


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` (major units) in `currency`'s minor units, rounded half up (12.345 USD -> 1235)."""
    scaled = amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def fmt(minor: int, currency: str) -> str:
    """1234567, "USD" -> "12,345.67 USD"."""
    places = exponent(currency)
    value = Decimal(minor).scaleb(-places)
    return f"{value:,.{places}f} {currency}"


def plain(minor: int, currency: str) -> str:
    """1234567, "USD" -> "12345.67": for spreadsheets, no separators, no code."""
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CartCost:
    """What Rye says a cart costs (Cart.cost), every amount in `currency`'s minor unit."""

    currency: str
    total: int | None  #: None: Rye gave no total (yet)
    subtotal: int | None = None
    shipping: int | None = None
    tax: int | None = None
    estimated: bool = False  #: CartCost.isEstimated

    @property
    def final(self) -> bool:
        """A total Rye does not call an estimate: the amount a submission commits."""
        return not self.estimated and self.total is not None
