"""ledger.xlsx keeps every id as the text the ledger holds, freezes its header, filters, and lists
the actions worst first; no cell is a formula."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from batch_runner.core.model import (
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.ledger import CSV_COLUMNS, LedgerWriter, read_ledger
from batch_runner.ledger_xlsx import MAX_CELL_CHARS, write_ledger_xlsx


def item(pid: str, outcome: ItemOutcome, **extra: str) -> ItemResult:
    market = Marketplace.SHOPIFY if pid.isdigit() else Marketplace.AMAZON
    return ItemResult(marketplace=market, product_id=pid, quantity=3, outcome=outcome, **extra)


RECORDS = [
    LedgerRecord(order_id="0042", status=OrderStatus.PARTIAL, lines=(5, 6), items=(
        item("44000000000101", ItemOutcome.PLACED, cart_id="c1", rye_order_id="4f1c"),
        item("00012345678901", ItemOutcome.FAILED, reason_code="OUT_OF_STOCK",
             reason="=HYPERLINK(\"http://evil\") \x00\x07 " + "x" * 40_000, cart_id="c1"))),
    LedgerRecord(order_id="1E5", status=OrderStatus.NEEDS_ATTENTION, lines=(2,), items=(
        item("B0DEMO0STUCK", ItemOutcome.STUCK, reason_code="STUCK", cart_id="c2"),)),
    LedgerRecord(order_id=None, status=OrderStatus.INVALID, items=(), lines=(9,),
                 invalid=InvalidInfo(file="orders.csv", line=9, field="quantity", message="bad")),
]


def write(tmp_path: Path) -> Path:
    with LedgerWriter(tmp_path) as writer:
        for record in RECORDS:
            writer.write(record)
    return write_ledger_xlsx(tmp_path / "ledger.jsonl", tmp_path / "ledger.xlsx")


def test_every_id_reads_back_as_the_same_text_as_in_ledger_jsonl(tmp_path: Path) -> None:
    """Order, product, cart and Rye order ids are text cells equal to the ledger's strings."""
    book = load_workbook(write(tmp_path))
    sheet = book["ledger"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == CSV_COLUMNS
    got = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    want = [(r.order_id, i.product_id, i.cart_id, i.rye_order_id)
            for r in sorted(read_ledger(tmp_path / "ledger.jsonl"), key=lambda r: min(r.lines))
            for i in r.items]
    assert [(g["order_id"], g["product_id"], g["cart_id"], g["rye_order_id"])
            for g in got if g["product_id"]] == want
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if CSV_COLUMNS[cell.column - 1] in ("order_id", "product_id", "cart_id", "rye_order_id"):
                assert cell.value is None or cell.data_type == "s"
    assert [g["quantity"] for g in got] == [3, 3, 3, None]  # numbers stay numbers
    assert [g["input_line"] for g in got] == [2, 5, 6, 9]


def test_header_frozen_filters_on_and_no_formula_anywhere(tmp_path: Path) -> None:
    """Both sheets freeze row 1 and filter their whole range; a text starting "=" is text."""
    book = load_workbook(write(tmp_path))
    assert book.sheetnames == ["ledger", "action list"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    reason = book["ledger"].cell(4, CSV_COLUMNS.index("reason") + 1).value
    assert reason.startswith("=HYPERLINK")
    assert "\x00" not in reason
    assert len(reason) == MAX_CELL_CHARS


def test_the_action_list_says_what_to_do_worst_first(tmp_path: Path) -> None:
    """STUCK before FAILED before INVALID, each with its instruction and ids."""
    sheet = load_workbook(write(tmp_path))["action list"]
    rows = [dict(zip([c.value for c in sheet[1]], r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(r["outcome"], r["order_id"]) for r in rows] == [
        ("STUCK", "1E5"), ("FAILED", "0042"), ("INVALID", None)]
    assert "contact Rye" in rows[0]["what to do"]
    assert rows[0]["cart_id"] == "c2"
    assert rows[1]["items"] == "00012345678901 x3"
    assert rows[2]["where in the input"] == "orders.csv:9 quantity"


def test_an_empty_ledger_still_gives_a_workbook(tmp_path: Path) -> None:
    """No ledger lines yet: both sheets with their headers only."""
    (tmp_path / "ledger.jsonl").write_bytes(b"")
    book = load_workbook(write_ledger_xlsx(tmp_path / "ledger.jsonl", tmp_path / "ledger.xlsx"))
    assert [s.max_row for s in book.worksheets] == [1, 1]


def test_past_the_sheet_row_limit_the_sheet_says_where_the_rest_is(tmp_path: Path) -> None:
    """With room for 2 rows (header included), the ledger sheet ends in a row naming ledger.csv."""
    write(tmp_path)
    path = write_ledger_xlsx(tmp_path / "ledger.jsonl", tmp_path / "ledger.xlsx", max_rows=3)
    rows = list(load_workbook(path)["ledger"].iter_rows(values_only=True))
    assert len(rows) == 3
    assert rows[-1][0] == "more rows than a sheet holds: see ledger.csv"


def test_text_reads_back_exactly_and_ids_keep_the_text_format(tmp_path: Path) -> None:
    """XML's own characters, edge spaces and a line break survive (CRLF as the LF a cell shows);
    id cells are formatted as text ("@"), so an edited id stays text; quantities stay numbers."""
    odd = " <a & b> \"q\" 'x'\r\nend "
    records = [LedgerRecord(order_id="007", status=OrderStatus.NEEDS_ATTENTION, lines=(2,), items=(
        item("44000000000101", ItemOutcome.NEEDS_REVIEW, reason_code="UNKNOWN", reason=odd,
             cart_id="c&1"),))]
    with LedgerWriter(tmp_path) as writer:
        for record in records:
            writer.write(record)
    book = load_workbook(write_ledger_xlsx(tmp_path / "ledger.jsonl", tmp_path / "ledger.xlsx"))
    row = dict(zip(CSV_COLUMNS, book["ledger"][2], strict=False))
    assert row["reason"].value == odd.replace("\r\n", "\n")
    assert row["cart_id"].value == "c&1"
    assert row["order_id"].value == "007"
    assert all(row[c].number_format == "@" for c in ("order_id", "product_id", "cart_id"))
    assert row["quantity"].value == 3
    assert row["quantity"].number_format == "General"
    assert book["action list"]["D2"].value.endswith(odd.replace("\r\n", "\n"))
    assert book["action list"]["D2"].alignment.wrap_text
    assert book["ledger"]["A1"].font.b
