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
from batch_runner.core.money import plain
from batch_runner.core.spending import order_totals
from batch_runner.errors import JournalError
from batch_runner.load_fields import describe_invalid

LEDGER_NAME = "ledger.jsonl"
LEDGER_CSV_NAME = "ledger.csv"
RUN_STATS_NAME = "run_stats.json"
#: A spreadsheet may run a cell that starts with one of these as a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: An INVALID order's message is its `reason` (naming file, line and field); invalid_* say where.
CSV_COLUMNS = (
    "order_id", "order_status", "input_line", "marketplace", "product_id", "quantity", "outcome",
    "reason_code", "reason", "cart_id", "rye_order_id", "redirect_url", "started_at",
    "finished_at", "invalid_file", "invalid_line", "invalid_field",
    "cart_total", "currency", "order_total",
)
#: Sorts after every real line: records from ledgers that did not record their input lines.
_NO_LINE = 1 << 62


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
    #: The last run's live-schema check: "checked" or "unavailable" (a mismatch stops the run
    #: before --out is written, so it is never recorded here); None: no check was made.
    schema_check: str | None = None
    schema_sha256: str | None = None  #: sha256 of the live schema's printed SDL
    schema_note: str | None = None  #: why the check was unavailable
    #: Money, in minor units per currency: what the journal holds as committed (carts submitted
    #: and not given back), and the limits of the last run (core/budget.py).
    committed: dict[str, int] = field(default_factory=dict)
    budget: int | None = None
    budget_currency: str | None = None
    max_order_total: str | None = None
    #: From the ledger, per currency: {"priced", "submitted", "placed", "carts"} (core/spending.py)
    money: dict[str, dict[str, int]] = field(default_factory=dict)

    runs: int = 1  #: how many runs went into this --out (1 + resumes)
    active_s: float | None = None  #: seconds spent running, all runs added (the chart's time axis)
    run_starts: tuple[float, ...] = ()  #: where each resumed run starts on that axis
    #: Unfinished orders when the last run stopped early, by where they stopped
    #: (core.unfinished.StopPoint); None when not counted (finished, or the input was unreadable).
    unfinished: int | None = None
    unfinished_by_point: dict[str, int] = field(default_factory=dict)
    resume_command: str | None = None  #: the command that resumes this run (the same one)
    strict_shape: str | None = None  #: learned: token-bucket, fixed-window or unknown


class LedgerWriter:
    """Appends one fsynced line per order to DIR/ledger.jsonl; use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LEDGER_NAME
        forget_kept()  # what is kept is for after the run, not held while it runs
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
        lines=tuple(int(n) for n in raw.get("lines", ())),
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
    for _, record in _read_with_offsets(path):  # read when first iterated, as it was written
        yield record


#: A ledger up to this size (about 11,000 orders; their records take about 16 MB) is parsed
#: once and kept while it does not change: the end of a run reads it about ten times (stats,
#: counts, ledger.csv and .xlsx, the retry file, the reports), 0.3 s each per 5,000 orders.
#: A bigger one is read from disk each time, so memory stays flat however long the night.
CACHE_MAX_BYTES = 8 << 20
#: (path, inode, size, mtime) of the ledger kept, and its (offset, record) pairs.
_kept: tuple[tuple[str, int, int, int], list[tuple[int, LedgerRecord]]] | None = None


def forget_kept() -> None:
    """Let go of the ledger kept in memory (it is read again from disk when next asked for)."""
    global _kept
    _kept = None


def _identity(path: Path) -> tuple[str, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path.absolute()), st.st_ino, st.st_size, st.st_mtime_ns)


def _kept_records(path: Path) -> list[tuple[int, LedgerRecord]] | None:
    """The (offset, record) pairs of a small ledger, parsed at most once while it is unchanged;
    None for a big or damaged ledger (read as a stream, raising where a reader meets the damage)."""
    global _kept
    before = _identity(path)
    if before is None or before[2] > CACHE_MAX_BYTES:
        return None
    if _kept is not None and _kept[0] == before:
        return _kept[1]
    try:
        records = list(_parse_file(path))
    except JournalError:
        return None
    if _identity(path) != before:  # written to while read: not kept
        return records
    _kept = (before, records)
    return records


def _read_with_offsets(path: Path) -> Iterator[tuple[int, LedgerRecord]]:
    """(byte offset of the line, record) for every record, as read_ledger reads them."""
    kept = _kept_records(path)
    return iter(kept) if kept is not None else _parse_file(path)


def _parse_file(path: Path) -> Iterator[tuple[int, LedgerRecord]]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        bad: tuple[int, str] | None = None
        offset = 0
        for number, raw in enumerate(iter(handle.readline, b""), start=1):
            start, offset = offset, offset + len(raw)
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
                yield start, record
            # else: whole JSON but no newline: torn just before its newline; skip like any torn tail


def first_input_line(record: LedgerRecord) -> int | None:
    """The input line the order starts on, when the ledger knows it."""
    if record.lines:
        return min(record.lines)
    return record.invalid.line if record.invalid else None


def read_in_input_order(path: Path) -> Iterator[LedgerRecord]:
    """The ledger's records in the order of the input file (the ledger itself is in completion
    order). Memory holds one integer per record, not the records: each is read again by offset.
    Records that do not know their input line come last, in ledger order."""
    kept = _kept_records(path)
    if kept is not None:
        yield from (record for _, _, record in sorted(
            (_input_position(record), offset, record) for offset, record in kept))
        return
    keys = []
    for offset, record in _parse_file(path):
        keys.append((_input_position(record) << 40) | offset)
    if not keys:
        return
    keys.sort()
    with path.open("rb") as handle:
        for key in keys:
            handle.seek(key & ((1 << 40) - 1))
            yield _parse_line(handle.readline())


def _input_position(record: LedgerRecord) -> int:
    line = first_input_line(record)
    return _NO_LINE if line is None else line


def ledger_key(record: LedgerRecord) -> tuple[str, str]:
    """What makes a ledger line one input entry's: its line for an INVALID one, else its order_id."""
    if record.invalid is not None:
        return ("invalid", str(record.invalid.line))
    return ("order", record.order_id or "")


def ledger_order_ids(path: Path) -> set[str]:
    """The order ids the ledger already holds (INVALID records without an id are left out)."""
    return {r.order_id for r in read_ledger(path) if r.order_id is not None}


def safe_cell(value: object) -> str:
    """The text of a CSV cell that no spreadsheet will run as a formula: a risky first character
    gets a leading apostrophe, which Excel and LibreOffice show as text and hide."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _money_cells(record: LedgerRecord) -> tuple[dict[str | None, list[str | None]], str | None]:
    """Per cart id: [cart_total, currency]; and the order's submitted total when in one currency."""
    carts: dict[str | None, list[str | None]] = {
        c.cart_id: [plain(c.total, c.currency), c.currency]
        for c in record.carts if c.total is not None and c.currency is not None
    }
    totals = order_totals(record)
    if len(totals) != 1:
        return carts, None  # nothing submitted with a price, or several currencies
    [(currency, total)] = totals.items()
    return carts, plain(total, currency)


def ledger_rows(record: LedgerRecord) -> Iterator[list[object]]:
    """The values of CSV_COLUMNS, one row per line item; an order without items (INVALID before
    any item was read) gets one. Values are raw: ledger.csv passes them through safe_cell."""
    inv = record.invalid
    carts, order_total = _money_cells(record)
    tail = [inv.file, inv.line, inv.field] if inv else [None] * 3
    times = [record.started_at, record.finished_at]
    # An INVALID order's items are what could be salvaged, not aligned with its rows.
    lines = record.lines if len(record.lines) == len(record.items) and not inv else ()
    if not record.items:
        reason = describe_invalid(inv.file, inv.line, inv.field, inv.message) if inv else None
        outcome = ItemOutcome.INVALID.value if record.status is OrderStatus.INVALID else None
        yield [record.order_id, record.status.value, inv.line if inv else None, None, None, None,
               outcome, outcome, reason, None, None, None, *times, *tail, None, None, None]
    for n, i in enumerate(record.items):
        yield [record.order_id, record.status.value, lines[n] if lines else None,
               i.marketplace.value, i.product_id, i.quantity, i.outcome.value, i.reason_code,
               i.reason, i.cart_id, i.rye_order_id, i.redirect_url, *times, *tail,
               *carts.get(i.cart_id, [None, None]), order_total]


def csv_rows(record: LedgerRecord) -> Iterator[list[str]]:
    """ledger_rows as formula-safe CSV cells."""
    for row in ledger_rows(record):
        yield [safe_cell(v) for v in row]


def write_ledger_csv(ledger_jsonl: Path, csv_path: Path) -> None:
    """ledger.csv from ledger.jsonl, in input order, replaced atomically.

    UTF-8 with a byte-order mark and CRLF rows: Excel reads a CSV without a BOM in the
    machine's ANSI code page (so "Müller" turns into "MÃ¼ller"), while with it Excel and
    LibreOffice both pick UTF-8 on their own; Python reads it with encoding="utf-8-sig".
    """
    tmp = csv_path.with_name(csv_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for record in read_in_input_order(ledger_jsonl):
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
        known["run_starts"] = tuple(float(t) for t in known.get("run_starts", ()))
        return RunStats(**known)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
