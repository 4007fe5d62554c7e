"""ledger.jsonl (one line per input order, fsynced as each order is final), ledger.csv, run_stats.json."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

from batch_runner.core.model import (
    CartRecord,
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)

LEDGER_NAME = "ledger.jsonl"
LEDGER_CSV_NAME = "ledger.csv"
RUN_STATS_NAME = "run_stats.json"
#: A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "order_id", "order_status", "marketplace", "product_id", "quantity", "outcome",
    "reason_code", "reason", "cart_id", "rye_order_id", "redirect_url", "started_at",
    "finished_at", "invalid_file", "invalid_line", "invalid_field", "invalid_message",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStats:
    started_at: str
    finished_at: str | None
    input_file: str
    orders_total: int
    strict_requests: int
    default_requests: int
    rate_limited: int
    replacements: int
    strict_rps: float
    throughput: tuple[tuple[float, int], ...] = ()
    interrupted: bool = False


class LedgerWriter:
    """Appends one fsynced line per order; a line is either whole or absent after a crash."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LEDGER_NAME
        self._handle = self.path.open("ab")

    def __repr__(self) -> str:
        return f"<LedgerWriter {self.path}>"

    def write(self, record: LedgerRecord) -> None:
        self._handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _item(raw: dict[str, Any]) -> ItemResult:
    return ItemResult(
        marketplace=Marketplace(raw["marketplace"]), product_id=raw["product_id"],
        quantity=raw["quantity"], outcome=ItemOutcome(raw["outcome"]),
        reason_code=raw.get("reason_code"), reason=raw.get("reason"), cart_id=raw.get("cart_id"),
        rye_order_id=raw.get("rye_order_id"), redirect_url=raw.get("redirect_url"),
    )


def parse_record(raw: dict[str, Any]) -> LedgerRecord:
    invalid = raw.get("invalid")
    return LedgerRecord(
        order_id=raw.get("order_id"), status=OrderStatus(raw["status"]),
        items=tuple(_item(i) for i in raw.get("items", ())),
        carts=tuple(CartRecord(**c) for c in raw.get("carts", ())),
        started_at=raw.get("started_at"), finished_at=raw.get("finished_at"),
        invalid=InvalidInfo(**invalid) if invalid else None,
    )


def read_ledger(path: Path) -> Iterator[LedgerRecord]:
    """Every whole line of the ledger; a torn last line (crash mid-write) is skipped."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return
            yield parse_record(orjson.loads(raw))


def safe_cell(value: object) -> str:
    """A cell value no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(record: LedgerRecord) -> Iterator[list[str]]:
    inv = record.invalid
    tail = [inv.file, str(inv.line), inv.field or "", inv.message] if inv else ["", "", "", ""]
    head = [record.order_id or "", record.status.value]
    if not record.items:
        yield [safe_cell(v) for v in [*head, "", "", "", "INVALID", "INVALID", "", "", "", "",
                                      record.started_at, record.finished_at, *tail]]
    for i in record.items:
        yield [safe_cell(v) for v in [
            *head, i.marketplace.value, i.product_id, i.quantity, i.outcome.value, i.reason_code,
            i.reason, i.cart_id, i.rye_order_id, i.redirect_url, record.started_at,
            record.finished_at, *tail,
        ]]


def write_ledger_csv(ledger_jsonl: Path, csv_path: Path) -> None:
    """UTF-8 with a BOM, so Excel and LibreOffice both read accents correctly."""
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for record in read_ledger(ledger_jsonl):
            writer.writerows(csv_rows(record))
    os.replace(tmp, csv_path)


def write_run_stats(path: Path, stats: RunStats) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(stats, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def read_run_stats(path: Path) -> RunStats | None:
    if not path.exists():
        return None
    try:
        raw = orjson.loads(path.read_bytes())
        raw["throughput"] = tuple(tuple(p) for p in raw.get("throughput", ()))
        return RunStats(**raw)
    except (orjson.JSONDecodeError, TypeError):
        return None
