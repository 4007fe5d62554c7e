"""CSV order files: rows grouped into orders by contiguous order_id, and the raw cells the
retry file copies.

Only the current order's rows are held, so memory does not grow with the file. The delimiter
(`,` `;` or tab) is told from the first line (input_format.py).
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from batch_runner.core.model import InvalidOrder, LineItem, Order
from batch_runner.errors import InputError
from batch_runner.input_format import DELIMITER_NAMES, sniff_delimiter
from batch_runner.load_fields import (
    BILLING_REQUIRED,
    BUYER_FIELDS,
    BUYER_REQUIRED,
    MAX_FIELD,
    SeenIds,
    _Bad,
    parse_address,
    parse_item,
)
from batch_runner.load_lines import _OVERLONG, MAX_LINE_BYTES, _open, _read_line

REQUIRED_COLUMNS = ("order_id", "marketplace", "product_id", "quantity", "first_name",
                    "last_name", "email", "address1", "city", "postal_code", "country_code")
#: Every CSV column the loader reads; a header that names one of them twice is refused.
KNOWN_COLUMNS = frozenset({*REQUIRED_COLUMNS, *BUYER_FIELDS, "payment_token",
                           *(f"billing_{n}" for n in BUYER_FIELDS)})


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



_NOT_UTF8 = "the line is not valid UTF-8; save the file as UTF-8"


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


def _rows(
    reader: Iterator[list[str]], lines: _LineCounter
) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """Each record `reader` reads from `lines`, with the physical line it starts on, or the
    csv.Error it raised instead (the reader goes on after one). `lines.line` is where the
    record ends while the consumer holds it."""
    while True:
        start = lines.line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        yield start, row


def _csv_records(path: Path) -> Iterator[_Record]:
    """One _Record per non-blank CSV record; the header is checked here."""
    handle = _open(path)
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
        for start, row in _rows(reader, lines):
            if isinstance(row, csv.Error):
                yield start, None, f"the row cannot be read as CSV ({row})", None
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



# --- raw input, for the retry file -----------------------------------------------------------


def iter_csv_cells(path: Path, delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """Every non-blank CSV record as written, cells unstripped, with the line it starts on; the
    header first (its first cell keeps a byte-order mark, if any). None for a record that cannot
    be copied whole: not UTF-8, too long, not CSV, or not as many fields as the header."""
    csv.field_size_limit(MAX_LINE_BYTES)
    with _open(path) as handle:
        lines = _LineCounter(handle)
        reader = csv.reader(lines, delimiter=delimiter)
        width: int | None = None
        for start, row in _rows(reader, lines):
            if isinstance(row, csv.Error):
                yield start, None
                continue
            span = range(start, lines.line + 1)
            spoilt = any(n in lines.overlong or n in lines.undecodable for n in span)
            if not spoilt and not any(cell.strip() for cell in row):
                continue
            width = len(row) if width is None else width
            yield start, None if spoilt or len(row) != width else row
