"""The loader's error cases: every bad order is INVALID with file, line and field; the rest goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner.core.model import InvalidOrder, Order
from batch_runner.errors import InputError
from batch_runner.load import iter_orders, summarize

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
