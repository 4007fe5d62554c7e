"""The run's durable outputs: ledger.jsonl, ledger.csv and run_stats.json in the --out directory.

ledger.jsonl gets one line per input order, appended and fsynced the moment the order is final,
so after a crash a line is either whole or torn at the very end; readers skip a torn last line
and refuse damage anywhere else. ledger.csv is derived from it and is safe to open in a
spreadsheet. This module writes files and decides nothing.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
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
from batch_runner.errors import JournalError

LEDGER_NAME = "ledger.jsonl"
LEDGER_CSV_NAME = "ledger.csv"
RUN_STATS_NAME = "run_stats.json"
#: A spreadsheet may run a cell that starts with one of these as a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "order_id", "order_status", "marketplace", "product_id", "quantity", "outcome",
    "reason_code", "reason", "cart_id", "rye_order_id", "redirect_url", "started_at",
    "finished_at", "invalid_file", "invalid_line", "invalid_field", "invalid_message",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStats:
    """What the ledger cannot say about a run: request counts, timings, throughput samples."""

    started_at: str  #: ISO 8601 UTC, of the first run into this --out
    finished_at: str | None  #: ISO 8601 UTC; None while running
    input_file: str
    orders_total: int  #: orders finished (ledger lines written)
    strict_requests: int  #: createCart + submitCart requests sent
    default_requests: int  #: polls sent
    rate_limited: int  #: 429 answers received, both tiers
    replacements: int  #: replacement carts created
    strict_rps: float  #: the configured Strict rate
    throughput: tuple[tuple[float, int], ...] = ()  #: (seconds since start, orders finished)
    interrupted: bool = False  #: the last run stopped early (see stop_kind, stop_reason)
    stop_kind: str | None = None  #: core.stop.StopKind of the last run's early stop
    stop_reason: str | None = None  #: that stop in one sentence
    strict_shared: bool | None = None  #: learned: createCart and submitCart share one bucket
    strict_by_operation: dict[str, int] = field(default_factory=dict)  #: Strict requests per operation
    strict_shape: str | None = None  #: learned: token-bucket, fixed-window or unknown


class LedgerWriter:
    """Appends one fsynced line per order to DIR/ledger.jsonl; use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LEDGER_NAME
        self._handle = self.path.open("ab")
        self._written = 0

    def __repr__(self) -> str:
        state = "closed" if self._handle.closed else f"{self._written} written"
        return f"<LedgerWriter {self.path} {state}>"

    def write(self, record: LedgerRecord) -> None:
        # One write() of the whole line: a crash leaves it whole or torn at the end, never mixed.
        self._handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._written += 1

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
    """A LedgerRecord from one decoded ledger line; KeyError/TypeError/ValueError if it is not one."""
    invalid = raw.get("invalid")
    return LedgerRecord(
        order_id=raw.get("order_id"), status=OrderStatus(raw["status"]),
        items=tuple(_item(i) for i in raw.get("items", ())),
        carts=tuple(CartRecord(**c) for c in raw.get("carts", ())),
        started_at=raw.get("started_at"), finished_at=raw.get("finished_at"),
        invalid=InvalidInfo(**invalid) if invalid else None,
    )


def _parse_line(raw: bytes) -> LedgerRecord:
    decoded = orjson.loads(raw)
    if not isinstance(decoded, dict):
        raise TypeError("not a JSON object")
    return parse_record(decoded)


def read_ledger(path: Path) -> Iterator[LedgerRecord]:
    """Every record of the ledger, in order; a torn last line (crash mid-write) is skipped.

    Raises:
        JournalError: a line other than the last is not a ledger record (the file was damaged
            or edited), since skipping it could make a rerun place that order again.
    """
    if not path.exists():
        return
    with path.open("rb") as handle:
        bad: tuple[int, str] | None = None
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if bad is not None:
                raise JournalError(f"{path}:{bad[0]} is not a ledger record ({bad[1]}); "
                                   "restore the file or move it aside, then rerun")
            try:
                record = _parse_line(raw)
            except (ValueError, KeyError, TypeError) as exc:
                bad = (number, f"{type(exc).__name__}: {exc}")
                continue
            if raw.endswith(b"\n"):
                yield record
            # else: whole JSON but no newline: torn just before its newline; skip like any torn tail


def ledger_order_ids(path: Path) -> set[str]:
    """The order ids the ledger already holds (INVALID records without an id are left out)."""
    return {r.order_id for r in read_ledger(path) if r.order_id is not None}


def safe_cell(value: object) -> str:
    """The text of a CSV cell that no spreadsheet will run as a formula: a risky first character
    gets a leading apostrophe, which Excel and LibreOffice show as text and hide."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(record: LedgerRecord) -> Iterator[list[str]]:
    """One row per line item; an order without items (INVALID before any item was read) gets one."""
    inv = record.invalid
    tail = [inv.file, inv.line, inv.field, inv.message] if inv else [None] * 4
    head = [record.order_id, record.status.value]
    times = [record.started_at, record.finished_at]
    if not record.items:
        reason = inv.message if inv else None
        outcome = ItemOutcome.INVALID if record.status is OrderStatus.INVALID else None
        yield [safe_cell(v) for v in [*head, None, None, None, outcome, outcome, reason,
                                      None, None, None, *times, *tail]]
    for i in record.items:
        yield [safe_cell(v) for v in [
            *head, i.marketplace.value, i.product_id, i.quantity, i.outcome.value, i.reason_code,
            i.reason, i.cart_id, i.rye_order_id, i.redirect_url, *times, *tail,
        ]]


def write_ledger_csv(ledger_jsonl: Path, csv_path: Path) -> None:
    """ledger.csv from ledger.jsonl, replaced atomically.

    UTF-8 with a byte-order mark and CRLF rows: Excel reads a CSV without a BOM in the
    machine's ANSI code page (so "Müller" turns into "MÃ¼ller"), while with it Excel and
    LibreOffice both pick UTF-8 on their own; Python reads it with encoding="utf-8-sig".
    """
    tmp = csv_path.with_name(csv_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for record in read_ledger(ledger_jsonl):
            writer.writerows(csv_rows(record))
    os.replace(tmp, csv_path)


def write_run_stats(path: Path, stats: RunStats) -> None:
    """Write run_stats.json atomically: readers see the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(orjson.dumps(stats, option=orjson.OPT_APPEND_NEWLINE))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


_STATS_FIELDS = frozenset(f.name for f in fields(RunStats))


def read_run_stats(path: Path) -> RunStats | None:
    """The run statistics, or None when the file is missing or not readable as RunStats."""
    try:
        raw = orjson.loads(path.read_bytes())
        known = {k: v for k, v in raw.items() if k in _STATS_FIELDS}  # newer files: extra keys
        known["throughput"] = tuple((float(t), int(n)) for t, n in known.get("throughput", ()))
        return RunStats(**known)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
