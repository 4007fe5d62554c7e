"""ledger.xlsx: the ledger for people who open it in a spreadsheet, written from ledger.jsonl.

Why a workbook beside ledger.csv: a spreadsheet opening a CSV guesses each cell's type, so a
14-digit Shopify variant id becomes 4.4E+13 and loses its last digits when saved. Here every id
is stored as text (with the text number format, so an edited cell stays text), quantities and
line numbers as numbers. Sheet "ledger" has the rows of ledger.csv in input order, the header
frozen and filters on; sheet "action list" says what a person must do, worst first.

Written with XlsxWriter in its constant-memory mode: rows stream into the file, so memory does
not grow with the ledger, and it is about three times faster than openpyxl's element tree (which
was the slowest after-run file). No cell is ever a formula: every text is written as a string,
which no spreadsheet evaluates (ledger.csv needs its apostrophe for that; a typed cell does not).
This module writes one file and decides nothing; the action list comes from core.rollup.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xlsxwriter

from batch_runner.core.rollup import Action, summarize
from batch_runner.ledger import CSV_COLUMNS, ledger_rows, read_in_input_order
from batch_runner.report_content import TODO

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
#: Control characters XML 1.0 does not allow in a document (as openpyxl's ILLEGAL_CHARACTERS_RE).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _text(value: object) -> str:
    """Text a workbook can hold: line breaks as a cell shows them (CR and CRLF become LF, which
    XlsxWriter would otherwise escape as _x000D_), control characters XML forbids shown as
    U+FFFD, cut at the cell limit (a reason from the API could hold any of these)."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "\u2026"


def _value(value: object, number: bool) -> object:
    """A ledger cell: None when empty, an int in a number column, else its text."""
    if value is None or value == "":
        return None
    if number and isinstance(value, int) and not isinstance(value, bool):
        return value
    return _text(value)


class _Sheet:
    """One worksheet written row by row: header bold and frozen, filters over what was written."""

    def __init__(self, wb: Any, title: str, header: list[str], widths: list[int],
                 style: Any) -> None:
        self.ws, self.style, self.rows, self.cols = wb.add_worksheet(title), style, 0, len(header)
        self.number = wb.add_format()  # General, as a number typed by hand
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.ws.freeze_panes(1, 0)
        self.append(header, wb.add_format({"bold": True}))

    def append(self, values: Iterable[object], style: Any = None) -> None:
        for col, value in enumerate(values):
            if isinstance(value, int):
                self.ws.write_number(self.rows, col, value, self.number)
            elif value is not None:
                self.ws.write_string(self.rows, col, str(value), style or self.style)
        self.rows += 1

    def close(self) -> None:
        self.ws.autofilter(0, 0, max(0, self.rows - 1), self.cols - 1)


def _action_row(a: Action) -> list[object]:
    values = (a.outcome.value, TODO[a.outcome], a.order_id, "\n".join(a.reasons), a.where,
              "\n".join(a.cart_ids), "\n".join(a.rye_order_ids), "\n".join(a.redirect_urls),
              "\n".join(a.products))
    return [_value(v, False) for v in values]


def _write_actions(wb: Any, actions: Iterable[Action]) -> None:
    wrap = wb.add_format({"num_format": "@", "text_wrap": True, "valign": "top"})
    ws = _Sheet(wb, "action list", list(ACTION_COLUMNS), list(ACTION_WIDTHS), wrap)
    for action in actions:
        ws.append(_action_row(action))
    ws.close()


def write_ledger_xlsx(ledger_jsonl: Path, xlsx_path: Path, *, max_rows: int = MAX_ROWS) -> Path:
    """ledger.xlsx from ledger.jsonl, replaced atomically; returns its path."""
    tmp = xlsx_path.with_name(xlsx_path.name + ".tmp")
    numeric = [c in NUMBER_COLUMNS for c in CSV_COLUMNS]
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    text = wb.add_format({"num_format": "@"})  # an edited id stays text
    ws = _Sheet(wb, "ledger", list(CSV_COLUMNS), [WIDTHS.get(c, 12) for c in CSV_COLUMNS], text)
    rows = (r for record in read_in_input_order(ledger_jsonl) for r in ledger_rows(record))
    for n, row in enumerate(rows):
        if n == max_rows - 2:  # the header, and the row saying where the rest is
            ws.append(["more rows than a sheet holds: see ledger.csv"])
            break
        ws.append([_value(v, num) for v, num in zip(row, numeric, strict=True)])
    ws.close()
    _write_actions(wb, summarize(read_in_input_order(ledger_jsonl)).actions)
    wb.close()
    os.replace(tmp, xlsx_path)
    return xlsx_path
