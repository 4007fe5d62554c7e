"""ledger.xlsx: the ledger for people who open it in a spreadsheet, written from ledger.jsonl.

Why a workbook beside ledger.csv: a spreadsheet opening a CSV guesses each cell's type, so a
14-digit Shopify variant id becomes 4.4E+13 and loses its last digits when saved. Here every id
is stored as text (with the text number format, so an edited cell stays text), quantities and
line numbers as numbers. Sheet "ledger" has the rows of ledger.csv in input order, the header
frozen and filters on; sheet "action list" says what a person must do, worst first.

Written with openpyxl in write-only mode: rows stream to disk, memory does not grow with the
ledger. No cell is ever a formula: a text starting with "=" is stored as text, which no
spreadsheet evaluates (ledger.csv needs its apostrophe for that; a typed cell does not).
This module writes one file and decides nothing; the action list comes from core.rollup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from batch_runner.core.rollup import Action, summarize
from batch_runner.ledger import CSV_COLUMNS, ledger_rows, read_in_input_order
from batch_runner.report import TODO

LEDGER_XLSX_NAME = "ledger.xlsx"
#: Columns holding numbers; every other column is text, ids above all.
NUMBER_COLUMNS = frozenset({"input_line", "quantity", "invalid_line"})
#: Excel's limit on the characters of one cell.
MAX_CELL_CHARS = 32_767
#: Excel's limit on the rows of one sheet; past it the sheet says where the rest is.
MAX_ROWS = 1_048_576
#: Column widths in characters, for the columns that need more than the default.
WIDTHS = {"order_id": 14, "order_status": 16, "product_id": 17, "outcome": 16, "reason_code": 20,
          "reason": 48, "cart_id": 22, "rye_order_id": 38, "redirect_url": 40, "started_at": 25,
          "finished_at": 25, "invalid_file": 30}
ACTION_COLUMNS = ("outcome", "what to do", "order_id", "reason", "where in the input", "cart_id",
                  "rye_order_id", "redirect_url", "items")
ACTION_WIDTHS = (16, 50, 14, 48, 30, 22, 38, 40, 30)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _text(value: object) -> str:
    """Text a workbook can hold: control characters XML forbids shown as U+FFFD, cut at the
    cell limit (a reason from the API could hold either)."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "\u2026"


def _cell(ws: WriteOnlyWorksheet, value: object, *, number: bool = False,
          wrap: bool = False) -> Cell:
    if value is None or value == "":
        return WriteOnlyCell(ws, value=None)
    if number and isinstance(value, int) and not isinstance(value, bool):
        return WriteOnlyCell(ws, value=value)
    cell = WriteOnlyCell(ws, value=_text(value))
    cell.data_type = "s"  # openpyxl would make a text starting with "=" a formula
    cell.number_format = "@"
    if wrap:
        cell.alignment = _WRAP
    return cell


def _fast_cell(ws: WriteOnlyWorksheet, value: object, *, number: bool) -> object:
    """A ledger cell as a plain value where openpyxl already stores it as it is (a str is text,
    never a number): a styled cell costs twice as much to write, and a night has many rows.
    Text openpyxl would read as a formula ("=...") still gets a cell typed as text."""
    if value is None or value == "":
        return None
    if number and isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    return _cell(ws, text) if text.startswith("=") else text


def _sheet(wb: Workbook, title: str, header: Sequence[str], widths: Sequence[int]) -> WriteOnlyWorksheet:
    ws = cast(WriteOnlyWorksheet, wb.create_sheet(title))
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width  # type: ignore[attr-defined]
    ws.freeze_panes = "A2"
    head = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = _BOLD
        head.append(cell)
    ws.append(head)
    return ws


def _filter(ws: WriteOnlyWorksheet, columns: int, rows: int) -> None:
    # A write-only sheet takes its filter from the worksheet it copies; the stubs omit it.
    ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows, 1) + 1}"  # type: ignore[attr-defined]


def _action_row(ws: WriteOnlyWorksheet, a: Action) -> list[Cell]:
    values = (a.outcome.value, TODO[a.outcome], a.order_id, "\n".join(a.reasons), a.where,
              "\n".join(a.cart_ids), "\n".join(a.rye_order_ids), "\n".join(a.redirect_urls),
              "\n".join(a.products))
    return [_cell(ws, v, wrap=True) for v in values]


def _write_actions(wb: Workbook, actions: Iterable[Action]) -> None:
    ws = _sheet(wb, "action list", ACTION_COLUMNS, ACTION_WIDTHS)
    rows = 0
    for action in actions:
        ws.append(_action_row(ws, action))
        rows += 1
    _filter(ws, len(ACTION_COLUMNS), rows)


def write_ledger_xlsx(ledger_jsonl: Path, xlsx_path: Path, *, max_rows: int = MAX_ROWS) -> Path:
    """ledger.xlsx from ledger.jsonl, replaced atomically; returns its path."""
    wb = Workbook(write_only=True)
    ws = _sheet(wb, "ledger", CSV_COLUMNS, [WIDTHS.get(c, 12) for c in CSV_COLUMNS])
    numeric = [c in NUMBER_COLUMNS for c in CSV_COLUMNS]
    rows = 0
    for row in (r for record in read_in_input_order(ledger_jsonl) for r in ledger_rows(record)):
        if rows == max_rows - 2:  # the header, and the row saying where the rest is
            ws.append([_cell(ws, "more rows than a sheet holds: see ledger.csv")])
            break
        ws.append([_fast_cell(ws, v, number=n) for v, n in zip(row, numeric, strict=True)])
        rows += 1
    _filter(ws, len(CSV_COLUMNS), rows)
    _write_actions(wb, summarize(read_in_input_order(ledger_jsonl)).actions)
    tmp = xlsx_path.with_name(xlsx_path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, xlsx_path)
    return xlsx_path
