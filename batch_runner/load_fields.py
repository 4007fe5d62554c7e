"""What an order's fields must hold, checked the same way for CSV and JSONL input.

Every bad field raises _Bad naming the field apart from what is wrong with it (`describe` puts
them together as `orders.csv line 7, quantity: must be ...`); messages never echo a buyer's
value. SeenIds keeps only the ids seen so far, so memory does not grow with the file.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping
from hashlib import blake2b
from pathlib import Path

from batch_runner.core.model import Address, InvalidOrder, LineItem, Marketplace

BUYER_FIELDS = ("first_name", "last_name", "email", "phone", "address1", "address2", "city",
                "province_code", "postal_code", "country_code")
BUYER_REQUIRED = ("first_name", "last_name", "email", "address1", "city", "postal_code",
                  "country_code")
BILLING_REQUIRED = ("first_name", "last_name", "address1", "city", "postal_code", "country_code")
#: Larger quantities are refused as a likely typo (an extra digit or a pasted id); a real bulk order
#: that large is split into several orders on purpose.
MAX_QUANTITY = 10_000
#: The longest value any field may hold, in characters; longer values are INVALID naming the field.
MAX_FIELD = 10_000
#: A whole number in ASCII digits only: full-width or superscript digits are not read as numbers.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,30}")


class SeenIds:
    """The order ids seen so far, as 64-bit digests in an open-addressing table.

    About 16 bytes per id instead of ~110 for a set of strings, so memory stays flat on a
    million-order file. Two different ids share a digest with probability ~n²/2⁶⁵ (3e-8 for a
    million orders); the later order would then be reported INVALID as a duplicate and not sent,
    never sent twice.
    """

    def __init__(self) -> None:
        self._table = array("Q", bytes(8 * 1024))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, order_id: str) -> bool:
        """Record `order_id`; False if it was already there."""
        digest = int.from_bytes(blake2b(order_id.encode(), digest_size=8).digest(), "little") or 1
        if not self._insert(self._table, digest):
            return False
        self._count += 1
        if 2 * self._count > len(self._table):
            self._grow()
        return True

    @staticmethod
    def _insert(table: array[int], digest: int) -> bool:
        mask = len(table) - 1
        slot = digest & mask
        while (value := table[slot]) != 0:
            if value == digest:
                return False
            slot = (slot + 1) & mask
        table[slot] = digest
        return True

    def _grow(self) -> None:
        old, self._table = self._table, array("Q", bytes(16 * len(self._table)))
        for digest in old:
            if digest:
                self._insert(self._table, digest)


class _Bad(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message



def got(value: object) -> str:
    """A value as a message shows it after "got": text in double quotes, cut at 20 characters."""
    match value:
        case str():
            return '"' + (value if len(value) <= 20 else value[:20] + "\u2026") + '"'
        case None:
            return "nothing"
        case bool():
            return "true" if value else "false"
        case dict():
            return "an object"
        case list():
            return "a list"
    return str(value)[:20]


def describe_invalid(file: str, line: int, field: str | None, message: str, *,
                     whole_path: bool = False) -> str:
    """A bad input line as a person reads it: `orders.csv line 7, quantity: must be a whole
    number ≥ 1 (got "1.5")`, or `orders.csv line 9: <what is wrong with the whole line>`.
    The file's name only, unless `whole_path`."""
    where = f"{file if whole_path else Path(file).name} line {line}"
    return f"{where}, {field}: {message}" if field else f"{where}: {message}"


def describe(entry: InvalidOrder) -> str:
    """describe_invalid of an INVALID order."""
    return describe_invalid(entry.file, entry.line, entry.field, entry.message)


def parse_quantity(value: object, field: str = "quantity") -> int:
    if isinstance(value, bool):
        raise _Bad(field, f"must be a whole number \u2265 1 (got {got(value)})")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise _Bad(field, f"must be a whole number \u2265 1 (got {got(value)})")
    if number < 1:
        raise _Bad(field, f"must be a whole number \u2265 1 (got {number})")
    if number > MAX_QUANTITY:
        raise _Bad(field, f"{number} is more than {MAX_QUANTITY}: nearly always a typo; "
                          "split a real bulk order into several")
    return number


def parse_item(marketplace: object, product_id: object, quantity: object, prefix: str = "") -> LineItem:
    market = str(marketplace or "").strip().upper()
    if market not in Marketplace.__members__:
        raise _Bad(f"{prefix}marketplace", f"must be AMAZON or SHOPIFY (got {got(marketplace)})")
    if product_id is not None and (not isinstance(product_id, str | int) or isinstance(product_id, bool)):
        raise _Bad(f"{prefix}product_id", f"must be text (got {got(product_id)})")
    pid = str(product_id or "").strip()
    if not pid:
        raise _Bad(f"{prefix}product_id", "empty")
    if len(pid) > MAX_FIELD:
        raise _Bad(f"{prefix}product_id", f"longer than {MAX_FIELD} characters")
    return LineItem(marketplace=Marketplace(market), product_id=pid,
                    quantity=parse_quantity(quantity, f"{prefix}quantity"))


def parse_address(values: Mapping[str, object], required: tuple[str, ...], prefix: str) -> Address:
    clean: dict[str, str | None] = {}
    for name in BUYER_FIELDS:
        raw = values.get(name)
        if raw is not None and not isinstance(raw, str):
            raise _Bad(f"{prefix}{name}", "must be text")  # never the value: it is the buyer's
        text = (raw or "").strip()
        if len(text) > MAX_FIELD:
            raise _Bad(f"{prefix}{name}", f"longer than {MAX_FIELD} characters")
        clean[name] = text or None
    for name in required:
        if not clean[name]:
            raise _Bad(f"{prefix}{name}", "missing")
    return Address(**clean)  # type: ignore[arg-type]
