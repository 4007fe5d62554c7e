"""Stream CSV and JSONL order files into Order or InvalidOrder values, one order at a time.

Only a file that cannot be used at all raises InputError (exit 2); every bad order becomes an
InvalidOrder naming file, line and field, and the stream goes on. Memory does not grow with the
file: CSV rows are grouped by contiguous order_id, and only the set of order ids seen is kept.
The CSV delimiter (`,` `;` or tab) and JSONL are told from the first line (input_format.py).
Messages name the field apart from what is wrong with it (`describe` puts them together as
`orders.csv line 7, quantity: must be ...`) and never echo a buyer's value.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from batch_runner.core.model import Address, InvalidOrder, LineItem, Marketplace, Order
from batch_runner.errors import InputError
from batch_runner.input_format import (
    DELIMITER_NAMES,
    InputFormat,
    input_format,
    is_jsonl,
    refuse_json_array,
    sniff_delimiter,
)

REQUIRED_COLUMNS = ("order_id", "marketplace", "product_id", "quantity", "first_name",
                    "last_name", "email", "address1", "city", "postal_code", "country_code")
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
#: A longer physical line is INVALID without being held in memory (a CSV row or a JSONL order is
#: at most a few hundred kB); also the csv module's field limit, so a long quoted field that spans
#: lines is read whole and reported once, by its column, instead of breaking the rows after it.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: A whole number in ASCII digits only: full-width or superscript digits are not read as numbers.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,30}")
#: Every CSV column the loader reads; a header that names one of them twice is refused.
KNOWN_COLUMNS = frozenset({*REQUIRED_COLUMNS, *BUYER_FIELDS, "payment_token",
                           *(f"billing_{n}" for n in BUYER_FIELDS)})


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


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSummary:
    orders: int
    items: int
    invalid: int
    invalid_examples: tuple[InvalidOrder, ...]


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


# --- CSV -----------------------------------------------------------------------------------------


class _LineCounter:
    """Feeds csv.reader decoded lines and knows the physical line each record started on.

    A line longer than MAX_LINE_BYTES is skipped without being held and handed on as an empty
    line; its number goes into `overlong`. Lines that are not UTF-8 go into `undecodable`.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.line = 0
        self.undecodable: set[int] = set()
        self.overlong: set[int] = set()

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        data = _read_line(self._raw)
        if data is None:
            raise StopIteration
        self.line += 1
        if data is _OVERLONG:
            self.overlong.add(self.line)
            return "\n"
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.undecodable.add(self.line)
            return data.decode("utf-8", errors="replace")


_OVERLONG = b"<overlong>"
_NOT_UTF8 = "the line is not valid UTF-8; save the file as UTF-8"


def _read_line(handle: BinaryIO) -> bytes | None:
    """The next physical line; _OVERLONG (after skipping it) when it is longer than MAX_LINE_BYTES."""
    data = handle.readline(MAX_LINE_BYTES + 1)
    if not data:
        return None
    if len(data) <= MAX_LINE_BYTES:
        return data
    while data and not data.endswith(b"\n"):
        data = handle.readline(1 << 20)
    return _OVERLONG


def _columns(path: Path, header: list[str], undecodable: bool, delimiter: str) -> list[str]:
    if undecodable:
        raise InputError(f"{path}:1: the header line is not UTF-8 text; save the file as UTF-8 CSV")
    columns = [h.strip().lstrip(codecs.BOM_UTF8.decode()).strip().lower() for h in header]
    if not any(columns):
        raise InputError(f"{path}:1: line 1 is blank; a CSV needs its header on line 1 "
                         f"(required columns: {', '.join(REQUIRED_COLUMNS)})")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(c for c in columns[:6] if c) + (", ..." if len(columns) > 6 else "")
        raise InputError(f"{path}:1: required columns missing: {', '.join(missing)} (the header "
                         f"was read as {DELIMITER_NAMES[delimiter]}-separated; comma, semicolon "
                         f"and tab are understood; columns found: {found or 'none'})")
    twice = sorted({c for c in columns if c in KNOWN_COLUMNS and columns.count(c) > 1})
    if twice:
        raise InputError(f"{path}:1: the header names a column more than once (names are "
                         f"case-insensitive): {', '.join(twice)}; keep one of each")
    return columns


#: (line, row, problem, field): row is None when the record cannot be split into the header's
#: columns; problem (with the offending field, if one) when the record must not be used.
_Record = tuple[int, dict[str, str] | None, str | None, str | None]


def _csv_records(path: Path) -> Iterator[_Record]:
    """One _Record per non-blank CSV record; the header is checked here."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    csv.field_size_limit(MAX_LINE_BYTES)  # the default, 128 KiB, would split a long quoted field
    with handle:
        lines = _LineCounter(handle)
        first = next(lines, "")
        delimiter = sniff_delimiter(first, KNOWN_COLUMNS)
        reader = csv.reader(itertools.chain([first] if first else [], lines), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: the file is empty; a CSV needs a header line") from None
        except csv.Error as exc:
            hint = "; lines seem to end in a bare CR: save with LF or CRLF line ends" if "new-line" in str(exc) else ""
            raise InputError(f"{path}:1: the header cannot be read as CSV ({exc}){hint}") from None
        if 1 in lines.overlong:
            raise InputError(f"{path}:1: the header line is longer than {MAX_LINE_BYTES} bytes; "
                             "this is not an orders CSV")
        columns = _columns(path, header, 1 in lines.undecodable, delimiter)
        while True:
            start = lines.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, None, f"the row cannot be read as CSV ({exc})", None
                continue
            record = _record(start, row, columns, lines)
            if record is not None:
                yield record


def _record(start: int, row: list[str], columns: list[str], lines: _LineCounter) -> _Record | None:
    """The record that began on line `start`; None for a blank one."""
    span = range(start, lines.line + 1)
    if too_long := [n for n in span if n in lines.overlong]:
        return start, None, f"line {too_long[0]} is longer than {MAX_LINE_BYTES} bytes", None
    if not any(cell.strip() for cell in row):
        return None
    undecodable = any(n in lines.undecodable for n in span)
    if len(row) != len(columns):
        if undecodable:
            return start, None, _NOT_UTF8, None
        problem = f"the row has {len(row)} fields, the header has {len(columns)}"
        if lines.line > start:  # an unclosed quote swallows the lines after it into one field
            problem += (f"; a quoted field runs from line {start} to line {lines.line}, so lines "
                        f"{start + 1}-{lines.line} were read as part of this row (an unclosed quote?)")
        return start, None, problem, None
    values = dict(zip(columns, (cell.strip() for cell in row), strict=True))
    long_field = next((c for c in columns if c in KNOWN_COLUMNS and len(values[c]) > MAX_FIELD), None)
    if long_field == "order_id":
        values["order_id"] = ""  # not an id anyone wrote; reported without one
    if undecodable:
        return start, values, _NOT_UTF8, None
    if long_field:
        return start, values, f"longer than {MAX_FIELD} characters", long_field
    return start, values, None, None


def _csv_order(path: Path, rows: list[tuple[int, dict[str, str]]]) -> Order:
    first_line, first = rows[0]
    buyer = parse_address(first, BUYER_REQUIRED, "")
    billing_values = {n: first.get(f"billing_{n}", "") for n in BUYER_FIELDS}
    billing = (parse_address(billing_values, BILLING_REQUIRED, "billing_")
               if any(billing_values.values()) else None)
    items = []
    for line, row in rows:
        try:
            for name in (*BUYER_FIELDS, "payment_token", *(f"billing_{n}" for n in BUYER_FIELDS)):
                if row.get(name, "") != first.get(name, ""):
                    raise _Bad(name, f"differs from the order's first row (line {first_line})")
            items.append(parse_item(row.get("marketplace"), row.get("product_id"), row.get("quantity")))
        except _Bad as bad:
            raise _Located(line, bad) from None
    return Order(order_id=first["order_id"], buyer=buyer, billing=billing, items=tuple(items),
                 payment_token=first.get("payment_token") or None, line=first_line,
                 item_lines=tuple(line for line, _ in rows))


class _Located(Exception):
    def __init__(self, line: int, bad: _Bad) -> None:
        super().__init__(bad.message)
        self.line = line
        self.bad = bad


def _salvage(rows: list[tuple[int, dict[str, str]]]) -> tuple[LineItem, ...]:
    items = []
    for _, row in rows:
        try:
            items.append(parse_item(row.get("marketplace"), row.get("product_id"), row.get("quantity")))
        except _Bad:
            continue
    return tuple(items)


def _finish_csv_block(path: Path, rows: list[tuple[int, dict[str, str]]], seen: SeenIds,
                      broken: tuple[int, str | None, str] | None) -> Order | InvalidOrder:
    order_id = rows[0][1]["order_id"]
    lines = tuple(line for line, _ in rows)
    if not seen.add(order_id):
        return InvalidOrder(order_id=order_id, file=str(path), line=rows[0][0], field="order_id",
                            message=f"DUPLICATE_ORDER_ID: order {order_id} appeared earlier in the "
                                    "file; orders' rows must be contiguous. None of these items were sent.",
                            items=_salvage(rows), lines=lines)
    if broken is not None:
        line, field, message = broken
        return InvalidOrder(order_id=order_id, file=str(path), line=line, field=field,
                            message=message, items=_salvage(rows), lines=lines)
    try:
        return _csv_order(path, rows)
    except _Located as exc:
        return InvalidOrder(order_id=order_id, file=str(path), line=exc.line, field=exc.bad.field,
                            message=exc.bad.message, items=_salvage(rows), lines=lines)
    except _Bad as bad:
        return InvalidOrder(order_id=order_id, file=str(path), line=rows[0][0], field=bad.field,
                            message=bad.message, items=_salvage(rows), lines=lines)


def iter_csv(path: Path) -> Iterator[Order | InvalidOrder]:
    """Orders from contiguous rows. A row that cannot be used spoils its whole order: no order is
    sent without one of its rows. A row whose order cannot be told (unreadable, no order_id) is
    its own INVALID entry, and spoils the order around it when that order's rows go on after it."""
    seen = SeenIds()
    block: list[tuple[int, dict[str, str]]] = []
    broken: tuple[int, str | None, str] | None = None  # the first problem inside the block
    gap: int | None = None  # an order-less record after the block's last row so far
    for line, row, problem, field in _csv_records(path):
        order_id = row.get("order_id") if row is not None else None
        if not order_id:
            if row is not None and problem is None:
                problem, field = "missing", "order_id"
            yield InvalidOrder(order_id=None, file=str(path), line=line, field=field,
                               message=problem or "the row cannot be read", lines=(line,))
            if block and gap is None:
                gap = line
            continue
        if block and block[0][1]["order_id"] != order_id:
            yield _finish_csv_block(path, block, seen, broken)
            block, broken, gap = [], None, None
        if broken is None and gap is not None:
            why = (f"line {gap}, between rows of order {order_id}, could not be read as one of its "
                   "rows; the order is held back whole")
            broken = (gap, None, why)
        if broken is None and problem is not None:
            broken = (line, field, problem)
        block.append((line, row))  # type: ignore[arg-type]  # row is not None: it has an order_id
    if block:
        yield _finish_csv_block(path, block, seen, broken)


# --- JSONL ---------------------------------------------------------------------------------------


def _json_order_id(value: object) -> str:
    if value is None or value == "":
        raise _Bad("order_id", "missing")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _Bad("order_id", f"must be text (got {got(value)})")
    order_id = str(value).strip()
    if not order_id:
        raise _Bad("order_id", "missing")
    if len(order_id) > MAX_FIELD:
        raise _Bad("order_id", f"longer than {MAX_FIELD} characters")
    return order_id


def _shown_order_id(record: Any) -> str | None:
    """The order_id to name on an INVALID line, when the record has a usable one."""
    if not isinstance(record, dict):
        return None
    try:
        return _json_order_id(record.get("order_id"))
    except _Bad:
        return None


def _not_an_object(record: Any) -> _Bad:
    if isinstance(record, list):
        return _Bad(None, "the line is a JSON array, not one order: write one order per line, "
                          "each a JSON object (JSONL)")
    return _Bad(None, "the line is JSON but not an object")


def parse_record(record: Any) -> Order:
    """One JSONL order; raises _Bad naming the field path."""
    if not isinstance(record, dict):
        raise _not_an_object(record)
    order_id = _json_order_id(record.get("order_id"))
    buyer = record.get("buyer")
    if not isinstance(buyer, dict):
        raise _Bad("buyer", "must be an object with the buyer's name and address")
    billing_raw = record.get("billing")
    if billing_raw is not None and not isinstance(billing_raw, dict):
        raise _Bad("billing", "must be an object")
    items_raw = record.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise _Bad("items", "must be a non-empty list")
    items = []
    for n, item in enumerate(items_raw):
        if not isinstance(item, dict):
            raise _Bad(f"items[{n}]", "must be an object")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise _Bad(f"items[{n}].quantity",
                       f"must be a JSON whole number \u2265 1 (got {got(quantity)})")
        items.append(parse_item(item.get("marketplace"), item.get("product_id"), item.get("quantity"),
                                f"items[{n}]."))
    token = record.get("payment_token")
    if token is not None and not isinstance(token, str):
        raise _Bad("payment_token", "must be text")
    if token is not None and len(token) > MAX_FIELD:
        raise _Bad("payment_token", f"longer than {MAX_FIELD} characters")
    return Order(
        order_id=order_id, buyer=parse_address(buyer, BUYER_REQUIRED, "buyer."),
        billing=parse_address(billing_raw, BILLING_REQUIRED, "billing.") if billing_raw else None,
        items=tuple(items), payment_token=(token or "").strip() or None, line=0,
    )


def iter_jsonl(path: Path) -> Iterator[Order | InvalidOrder]:
    seen = SeenIds()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        line = 0
        while (raw := _read_line(handle)) is not None:
            line += 1
            if raw is _OVERLONG:
                yield InvalidOrder(order_id=None, file=str(path), line=line, field=None,
                                   message=f"the line is longer than {MAX_LINE_BYTES} bytes",
                                   lines=(line,))
                continue
            if line == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield InvalidOrder(order_id=None, file=str(path), line=line, field=None,
                                   message="the line is not valid JSON (or not UTF-8)",
                                   lines=(line,))
                continue
            try:
                order = parse_record(record)
            except _Bad as bad:
                yield InvalidOrder(order_id=_shown_order_id(record), file=str(path), line=line,
                                   field=bad.field, message=bad.message, lines=(line,))
                continue
            if not seen.add(order.order_id):
                yield InvalidOrder(order_id=order.order_id, file=str(path), line=line, field="order_id",
                                   message=f"DUPLICATE_ORDER_ID: order {order.order_id} appeared "
                                           "earlier in the file; this one was not sent.",
                                   items=order.items, lines=(line,))
                continue
            yield Order(order_id=order.order_id, buyer=order.buyer, billing=order.billing,
                        items=order.items, payment_token=order.payment_token, line=line,
                        item_lines=(line,) * len(order.items))


# --- raw input, for the retry file -----------------------------------------------------------


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def iter_csv_cells(path: Path, delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """Every non-blank CSV record as written, cells unstripped, with the line it starts on; the
    header first (its first cell keeps a byte-order mark, if any). None for a record that cannot
    be copied whole: not UTF-8, too long, not CSV, or not as many fields as the header."""
    csv.field_size_limit(MAX_LINE_BYTES)
    with _open(path) as handle:
        lines = _LineCounter(handle)
        reader = csv.reader(lines, delimiter=delimiter)
        width: int | None = None
        while True:
            start = lines.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield start, None
                continue
            span = range(start, lines.line + 1)
            spoilt = any(n in lines.overlong or n in lines.undecodable for n in span)
            if not spoilt and not any(cell.strip() for cell in row):
                continue
            width = len(row) if width is None else width
            yield start, None if spoilt or len(row) != width else row


def iter_jsonl_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """Every line of a JSONL file as bytes (a leading byte-order mark removed) with its number;
    None for a line longer than MAX_LINE_BYTES, which is skipped unread."""
    with _open(path) as handle:
        line = 0
        while (raw := _read_line(handle)) is not None:
            line += 1
            if raw is _OVERLONG:
                yield line, None
                continue
            yield line, raw.removeprefix(codecs.BOM_UTF8) if line == 1 else raw


def iter_orders(path: Path) -> Iterator[Order | InvalidOrder]:
    """Orders (or INVALID records) from the CSV or JSONL file at `path`, streamed.

    Raises:
        InputError: no such file, unreadable, a JSON array, or (CSV) an unusable header.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    refuse_json_array(path, head)
    return iter_jsonl(path) if is_jsonl(path, head) else iter_csv(path)


def file_format(path: Path) -> InputFormat:
    """How the orders file is written (CSV and its delimiter, or JSONL), for validate and retry."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return input_format(path, KNOWN_COLUMNS)


def summarize(path: Path) -> FileSummary:
    orders = items = invalid = 0
    examples: list[InvalidOrder] = []
    for entry in iter_orders(path):
        if isinstance(entry, InvalidOrder):
            invalid += 1
            if len(examples) < 20:
                examples.append(entry)
        else:
            orders += 1
            items += len(entry.items)
    return FileSummary(orders=orders, items=items, invalid=invalid, invalid_examples=tuple(examples))
