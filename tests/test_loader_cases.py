"""The loader's error cases: every bad order is INVALID with file, line and field; the rest goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner.core.model import InvalidOrder, Order
from batch_runner.errors import InputError
from batch_runner.load import iter_orders, summarize
from batch_runner.load_lines import MAX_LINE_BYTES

HEADER = "order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,postal_code,country_code"


def row(oid: str = "A", market: str = "AMAZON", pid: str = "B1", qty: str = "1", first: str = "Ada") -> str:
    return f"{oid},{market},{pid},{qty},{first},Lovelace,ada@example.com,1 Main St,Springfield,12345,US"


def load(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> list[Order | InvalidOrder]:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return list(iter_orders(path))


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        (row(qty="0"), "quantity"),
        (row(qty="-1"), "quantity"),
        (row(qty="1.5"), "quantity"),
        (row(qty="two"), "quantity"),
        (row(qty="99999999"), "quantity"),
        (row(market="EBAY"), "marketplace"),
        (row(pid=""), "product_id"),
        (row(first=""), "first_name"),
    ],
)
def test_a_bad_row_makes_its_order_invalid_and_the_next_order_loads(tmp_path: Path, bad_row: str, field: str) -> None:
    """The bad order names file, line and field; the following order is still loaded."""
    entries = load(tmp_path, "\n".join([HEADER, bad_row, row(oid="B")]) + "\n")
    bad, good = entries
    assert isinstance(bad, InvalidOrder)
    assert (bad.line, bad.field) == (2, field)
    assert bad.file.endswith("in.csv")
    assert isinstance(good, Order)
    assert good.order_id == "B"


def test_conflicting_buyer_fields_within_an_order_are_invalid(tmp_path: Path) -> None:
    """Rows of one order must agree on the buyer; the conflicting row's line and field are named."""
    [bad] = load(tmp_path, "\n".join([HEADER, row(), row(pid="B2", first="Bob")]) + "\n")
    assert isinstance(bad, InvalidOrder)
    assert (bad.line, bad.field) == (3, "first_name")


def test_order_id_seen_again_after_other_orders_is_a_duplicate(tmp_path: Path) -> None:
    """The later block is its own INVALID line (DUPLICATE_ORDER_ID); the first stays valid."""
    entries = load(tmp_path, "\n".join([HEADER, row(), row(oid="B"), row(oid="A", pid="B9")]) + "\n")
    assert [type(e).__name__ for e in entries] == ["Order", "Order", "InvalidOrder"]
    dup = entries[2]
    assert isinstance(dup, InvalidOrder)
    assert dup.message.startswith("DUPLICATE_ORDER_ID")
    assert dup.line == 4


def test_multi_row_order_keeps_its_items_in_order(tmp_path: Path) -> None:
    """Contiguous rows with one order_id are one order with several items; header is line 1."""
    [order] = load(tmp_path, "\n".join([HEADER, row(), row(pid="B2", qty="3")]) + "\n")
    assert isinstance(order, Order)
    assert [(i.product_id, i.quantity) for i in order.items] == [("B1", 1), ("B2", 3)]
    assert order.line == 2


def test_undecodable_bytes_are_invalid_and_the_rest_goes_on(tmp_path: Path) -> None:
    """A Latin-1 line is reported as not UTF-8, with its line; other orders load."""
    text = (HEADER + "\n" + row(first="Jos\xe9") + "\n" + row(oid="B") + "\n").encode("latin-1")
    bad, good = load(tmp_path, text)
    assert isinstance(bad, InvalidOrder)
    assert bad.line == 2
    assert "UTF-8" in bad.message
    assert isinstance(good, Order)


def test_bom_crlf_and_quoted_newlines_keep_line_numbers_right(tmp_path: Path) -> None:
    """A BOM and CRLF are accepted; a quoted newline makes the next record start a line later."""
    quoted = row(oid="A").replace("1 Main St", '"1 Main St\nUnit 2"')
    text = "\ufeff" + HEADER.upper() + "\r\n" + quoted + "\r\n" + row(oid="B", qty="0") + "\r\n"
    good, bad = load(tmp_path, text)
    assert isinstance(good, Order)
    assert isinstance(bad, InvalidOrder)
    assert bad.line == 4


@pytest.mark.parametrize(
    ("text", "expect"),
    [("", "empty"), ("order_id,marketplace\nA,AMAZON\n", "product_id")],
)
def test_unusable_csv_is_one_input_error(tmp_path: Path, text: str, expect: str) -> None:
    """An empty file or missing required columns is InputError naming the problem."""
    with pytest.raises(InputError, match=expect):
        load(tmp_path, text)


def test_jsonl_bad_lines_are_invalid_with_field_paths(tmp_path: Path) -> None:
    """Not JSON, not an object, or a bad item: INVALID with line and a field path."""
    good = '{"order_id": "A", "buyer": {"first_name": "A", "last_name": "L", "email": "a@x", "address1": "1", "city": "C", "postal_code": "1", "country_code": "US"}, "items": [{"marketplace": "AMAZON", "product_id": "B1", "quantity": 1}]}'
    bad_qty = good.replace('"order_id": "A"', '"order_id": "B"').replace('"quantity": 1', '"quantity": "1"')
    entries = load(tmp_path, f"{good}\n{{not json\n[1, 2]\n\n{bad_qty}" + "\n", "in.jsonl")
    assert isinstance(entries[0], Order)
    lines = [(e.line, e.field) for e in entries[1:] if isinstance(e, InvalidOrder)]
    assert lines == [(2, None), (3, None), (5, "items[0].quantity")]


def test_summarize_counts_without_holding_the_file(tmp_path: Path) -> None:
    """validate's summary counts orders, items and invalid orders."""
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, row(), row(pid="B2"), row(oid="B", qty="x")]) + "\n")
    summary = summarize(path)
    assert (summary.orders, summary.items, summary.invalid) == (1, 2, 1)


@pytest.mark.parametrize("qty", ["\u00b2", "\uff12", "1" * 5000, "99999999999999999999", "1e3", " 2.0 ", "+2", "10001"])
def test_odd_quantities_are_invalid_not_a_crash(tmp_path: Path, qty: str) -> None:
    """Superscript and full-width digits, 5000 digits (beyond int()'s limit), exponents: INVALID quantity."""
    bad, good = load(tmp_path, "\n".join([HEADER, row(qty=qty), row(oid="B", qty=" 0042 ")]) + "\n")
    assert isinstance(bad, InvalidOrder)
    assert (bad.line, bad.field) == (2, "quantity")
    assert isinstance(good, Order)
    assert good.items[0].quantity == 42


@pytest.mark.parametrize(("header", "column"), [
    (HEADER + ",quantity", "quantity"),
    (HEADER + ",First_Name", "first_name"),
    (HEADER + ",billing_city, BILLING_CITY", "billing_city"),
])
def test_a_column_named_twice_is_one_input_error_naming_it(tmp_path: Path, header: str, column: str) -> None:
    """Which of two 'quantity' columns counts is a guess; the file is refused, naming the column."""
    with pytest.raises(InputError, match=f"more than once.*: {column};"):
        load(tmp_path, header + "\n" + row() + ",x,y\n")


def test_repeated_unknown_or_blank_columns_are_ignored(tmp_path: Path) -> None:
    """Trailing empty header cells (spreadsheet exports) and repeated notes columns are not read, so allowed."""
    [order] = load(tmp_path, HEADER + ",notes,notes,,\n" + row() + ",a,b,,\n")
    assert isinstance(order, Order)


def test_a_bad_row_inside_an_order_holds_back_the_whole_order(tmp_path: Path) -> None:
    """A Latin-1 second row, or an order-less row between two rows of A: A is INVALID, never sent short."""
    text = (HEADER + "\n" + row() + "\n" + row(pid="B2", first="Jos\xe9") + "\n" + row(oid="B") + "\n").encode("latin-1")
    bad, good = load(tmp_path, text)
    assert isinstance(bad, InvalidOrder)
    assert (bad.order_id, bad.line, bad.field) == ("A", 3, None)
    assert isinstance(good, Order)
    gap, held = load(tmp_path, "\n".join([HEADER, row(), row(oid=""), row(pid="B2")]) + "\n")
    assert isinstance(gap, InvalidOrder)
    assert (gap.order_id, gap.line, gap.field) == (None, 3, "order_id")
    assert isinstance(held, InvalidOrder)
    assert (held.order_id, held.line) == ("A", 3)
    assert "held back" in held.message


def test_a_10_mb_quoted_field_is_one_invalid_order_and_the_next_keeps_its_line(tmp_path: Path) -> None:
    """A 10 MB field with line breaks is read whole (not cut at csv's 128 KiB), reported by column."""
    huge = '"' + ("y" * 999 + "\n") * 10_000 + '"'
    bad, good = load(tmp_path, "\n".join([HEADER, row(first=huge), row(oid="B")]) + "\n")
    assert isinstance(bad, InvalidOrder)
    assert (bad.order_id, bad.line, bad.field) == ("A", 2, "first_name")
    assert isinstance(good, Order)
    assert good.line == 2 + 10_001


def test_a_line_longer_than_the_limit_is_skipped_not_held(tmp_path: Path) -> None:
    """A line over MAX_LINE_BYTES (CSV or JSONL) is INVALID with its line; the next order loads."""
    long_line = "x" * (MAX_LINE_BYTES + 10)
    bad, good = load(tmp_path, "\n".join([HEADER, long_line, row(oid="B")]) + "\n")
    assert isinstance(bad, InvalidOrder)
    assert (bad.line, bad.field) == (2, None)
    assert "longer than" in bad.message
    assert isinstance(good, Order)
    assert good.line == 3
    bad, good = load(tmp_path, long_line + "\n" + JSON_GOOD + "\n", "in.jsonl")
    assert isinstance(bad, InvalidOrder)
    assert "longer than" in bad.message
    assert isinstance(good, Order)
    assert good.line == 2


@pytest.mark.parametrize(("text", "message"), [
    ("\n" + HEADER + "\n", "line 1 is blank"),
    ("\ufeff", "line 1 is blank"),
    (HEADER.replace("city", "cit\xe9") + "\n", "not UTF-8"),
    (HEADER.replace(",", "|") + "\n", ("required columns missing: order_id, marketplace.*"
                                       "comma-separated; comma, semicolon and tab are understood")),
    (HEADER + "\r" + row() + "\r", "bare CR"),
])
def test_unusable_headers_say_why(tmp_path: Path, text: str, message: str) -> None:
    """A blank first line, a Latin-1 header, an unknown delimiter, old-Mac line ends: one clear InputError."""
    data = text.encode("latin-1") if "\xe9" in text else text.encode()
    with pytest.raises(InputError, match=message) as caught:
        load(tmp_path, data)
    assert str(tmp_path / "in.csv") in str(caught.value)


def test_header_only_is_zero_orders(tmp_path: Path) -> None:
    """A header and nothing else (or blank lines) is a usable file with no orders, not an error."""
    assert load(tmp_path, HEADER) == []
    assert load(tmp_path, "\ufeff" + HEADER + "\r\n\r\n , \r\n") == []


JSON_GOOD = ('{"order_id": "G", "buyer": {"first_name": "A", "last_name": "L", "email": "a@x", "address1": "1", '
             '"city": "C", "postal_code": "1", "country_code": "US"}, '
             '"items": [{"marketplace": "AMAZON", "product_id": "B1", "quantity": 1}]}')


def test_jsonl_bom_first_line_loads(tmp_path: Path) -> None:
    """A UTF-8 BOM before the first JSONL order (Windows editors) does not cost that order."""
    [order] = load(tmp_path, b"\xef\xbb\xbf" + JSON_GOOD.encode() + b"\r\n", "in.jsonl")
    assert isinstance(order, Order)
    assert order.line == 1


@pytest.mark.parametrize(("change", "field"), [
    (('"B1"', "true"), "items[0].product_id"),
    (('"B1"', '"' + "p" * 10_001 + '"'), "items[0].product_id"),
    (('"order_id": "G"', '"order_id": "' + "o" * 10_001 + '"'), "order_id"),
    (('"order_id": "G"', '"order_id": 1.5'), "order_id"),
    (('"order_id": "G"', '"order_id": "G", "payment_token": "' + "t" * 10_001 + '"'), "payment_token"),
])
def test_jsonl_wrong_types_and_overlong_values_are_invalid(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    """A boolean product id is not the text "True"; over-long ids and tokens are refused by field."""
    [bad] = load(tmp_path, JSON_GOOD.replace(*change) + "\n", "in.jsonl")
    assert isinstance(bad, InvalidOrder)
    assert (bad.line, bad.field) == (1, field)
    assert bad.order_id in ("G", None)
