"""retry.csv / retry.jsonl: the night's unplaced, resendable line items, in the input's own format.

The ledger holds no buyer data, only each order's input line numbers; this module reads those
rows back from the input file (checked against the checksum the journal recorded, so a changed
file can never lend its rows to the wrong order) and copies them: same columns, delimiter and
encoding for CSV, the same object for JSONL, with `previous_order_id`, `outcome`, `reason_code`
and `reason` added and a new order id (`A-17` → `A-17-r1`) that no order of the night has.
Which items go in is decided by core.retry. The file holds buyer data like the input: it is
created with mode 0600 (never widened, never chmod-ed after), and replaced atomically.

Two passes over the input (the night's order ids, then the rows), memory in proportion to the
items resent, never to the file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from batch_runner.core.model import ItemOutcome
from batch_runner.core.retry import (
    DEFAULT_OUTCOMES,
    MAYBE_PLACED,
    Resend,
    Unlocated,
    parse_outcomes,
    plan,
    retry_order_id,
)
from batch_runner.errors import InputError, UsageError
from batch_runner.input_format import InputFormat, sniff_delimiter
from batch_runner.journal import JOURNAL_NAME, file_sha256, locked
from batch_runner.ledger import (
    LEDGER_NAME,
    RUN_STATS_NAME,
    read_ledger,
    read_run_stats,
    safe_cell,
)
from batch_runner.load import file_format
from batch_runner.load_csv import iter_csv_cells
from batch_runner.load_fields import SeenIds
from batch_runner.load_jsonl import iter_jsonl_lines

RETRY_CSV_NAME = "retry.csv"
RETRY_JSONL_NAME = "retry.jsonl"
EXTRA_COLUMNS = ("previous_order_id", "outcome", "reason_code", "reason")
#: Why an outcome that may be placed is dangerous to resend, said when it is included.
DANGER: dict[ItemOutcome, str] = {
    ItemOutcome.STUCK: "Rye started the submission and never finished it, so the order may be "
                       "placed. Ask Rye about each cart id before sending this file",
    ItemOutcome.NEEDS_REVIEW: "Rye could not say whether the order was placed. Look each one up "
                              "with Rye before sending this file",
    ItemOutcome.ACTION_REQUIRED: "the buyer may still pass the 3-D Secure challenge, and the "
                                 "order be placed. Make sure each challenge has expired first",
}


@dataclass(slots=True, kw_only=True)
class RetryFile:
    """What write_retry_file wrote."""

    path: Path
    orders: int = 0  #: orders in the file
    items: int = 0  #: line items in the file (CSV: rows)
    outcomes: Counter[str] = field(default_factory=Counter)  #: items by outcome
    left_out: list[str] = field(default_factory=list)  #: one sentence per thing not written
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """`4 line items of 4 orders to fix and send again (3 FAILED, 1 INVALID)`."""
        if not self.items:
            return "nothing to send again"
        parts = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()))
        return (f"{self.items} line item{'s' if self.items != 1 else ''} of "
                f"{self.orders} order{'s' if self.orders != 1 else ''} to fix and send again "
                f"({parts})")


def find_retry_file(out_dir: Path) -> Path | None:
    """The retry file in DIR (retry.csv or retry.jsonl), if one was written."""
    for name in (RETRY_CSV_NAME, RETRY_JSONL_NAME):
        if (out_dir / name).is_file():
            return out_dir / name
    return None


def read_retry_file(out_dir: Path) -> RetryFile | None:
    """What the retry file in DIR holds (counts and outcomes), read back from it; None when
    there is none. For the report, which is rendered apart from the run that wrote the file:
    `f"{r.path.name}: {r.summary()}"` is the sentence to show."""
    path = find_retry_file(out_dir)
    if path is None:
        return None
    result, orders = RetryFile(path=path), set[object]()
    # A person may have edited the file by hand: a line it no longer parses counts as "?".
    if path.name == RETRY_JSONL_NAME:
        for line, raw in iter_jsonl_lines(path):
            try:
                record = orjson.loads(raw or b"")
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                orders.add(f"line {line}")
                result.items += 1
                result.outcomes["?"] += 1
                continue
            items = record.get("items")
            outcomes = ([str(i.get("outcome")) for i in items if isinstance(i, dict)]
                        if "outcome" not in record and isinstance(items, list)
                        else [str(record.get("outcome"))])
            orders.add(record.get("order_id") or f"line {line}")  # new ids: one per block
            result.items += len(outcomes)
            result.outcomes.update(outcomes)
    else:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                head = handle.readline()
                handle.seek(0)
                known = frozenset({*EXTRA_COLUMNS, "order_id"})
                reader = csv.DictReader(handle, delimiter=sniff_delimiter(head, known))
                for n, row in enumerate(reader):
                    orders.add(row.get("order_id") or f"row {n}")  # new ids: one per block
                    result.items += 1
                    result.outcomes[row.get("outcome") or "?"] += 1
        except (UnicodeDecodeError, csv.Error):
            result.outcomes["?"] += 1  # counted up to the line it cannot read
    result.orders = len(orders)
    return result


def night_input(out_dir: Path, given: Path | None = None) -> Path:
    """The input file of the run in DIR, checked to be byte for byte the one the run read.

    Raises:
        InputError: no journal, the file is gone, or it changed since the run.
    """
    journal = out_dir / JOURNAL_NAME
    try:
        with journal.open("rb") as handle:
            header = orjson.loads(handle.readline())
    except (OSError, orjson.JSONDecodeError):
        raise InputError(f"{journal} is missing or unreadable: it records which input file the "
                         "run read, and without it the rows cannot be matched safely") from None
    if not isinstance(header, dict) or header.get("t") != "header":
        raise InputError(f"{journal}: not a batch-runner journal")
    path = given or Path(str(header.get("input")))
    if not path.is_file():
        raise InputError(f"{path}: the run's input file is not there any more; give it with "
                         "--input FILE (it must be the same file, unchanged)")
    if file_sha256(path) != header.get("sha256"):
        raise InputError(f"{path} is not the file the run in {out_dir} read (it changed since, "
                         "or it is another file): its rows cannot be matched to the ledger")
    return path


def _private(path: Path, *, text: bool, encoding: str = "utf-8") -> IO[Any]:
    """A new file at `path` with mode 0600 from its creation (O_EXCL: never an old file or a
    link planted there)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    if text:
        return open(fd, "w", encoding=encoding, newline="")  # closed by the caller
    return open(fd, "wb")


class _Ids:
    """New order ids: one per resent order, none equal to an id of the night or to each other."""

    def __init__(self, night: Iterable[str]) -> None:
        self._used = SeenIds()
        for order_id in night:
            self._used.add(order_id)
        self._given: dict[tuple[str, int], str] = {}

    def new(self, want: Resend, *, input_was_retry: bool) -> str | None:
        """The new id of want's order: the same for each of its rows, and another for a later
        block with the same id (a DUPLICATE_ORDER_ID)."""
        if not want.order_id:
            return None
        key = (want.order_id, want.order_line)
        if key not in self._given:
            self._given[key] = retry_order_id(
                want.order_id, input_was_retry=input_was_retry,
                taken=lambda c: not self._used.add(c))
        return self._given[key]


def _night_ids_csv(path: Path, fmt: InputFormat) -> Iterator[str]:
    rows = iter_csv_cells(path, fmt.delimiter)
    _, header = next(rows, (1, None))
    names = [h.strip().lstrip("\ufeff").strip().lower() for h in header or ()]
    column = names.index("order_id") if "order_id" in names else None
    for _, cells in rows:
        if cells is not None and column is not None and cells[column].strip():
            yield cells[column].strip()


def _night_ids_jsonl(path: Path) -> Iterator[str]:
    for _, raw in iter_jsonl_lines(path):
        with contextlib.suppress(orjson.JSONDecodeError):
            record = orjson.loads(raw or b"null")
            if isinstance(record, dict) and isinstance(record.get("order_id"), str | int):
                yield str(record["order_id"]).strip()


def _csv_extras(want: Resend) -> dict[str, str]:
    """The extra cells, formula-safe: a person opens the file in a spreadsheet to fix it, and the
    reason comes from the API. The loader reads none of them, so the apostrophe changes nothing
    sent. The input's own cells are copied exactly, as the input has them."""
    values = (want.order_id, want.outcome.value, want.reason_code, want.reason)
    return dict(zip(EXTRA_COLUMNS, (safe_cell(v) for v in values), strict=True))


def _cannot_copy(want: Resend, path: Path) -> str:
    what = want.reason or f"{path.name} line {want.line}"
    return (f"{what}: not in the retry file, since the line cannot be copied as it is; fix it "
            f"in {path.name} and send it on its own")


class _CsvCopier:
    """Copies wanted rows of the input CSV, with the extra columns, into the retry file."""

    def __init__(self, header: list[str], result: RetryFile, ids: _Ids) -> None:
        header = [header[0].lstrip("\ufeff"), *header[1:]]
        names = [h.strip().lower() for h in header]
        self.order_column = names.index("order_id")
        self.was_retry = "previous_order_id" in names
        self.header = list(header)
        self.extra_at: dict[str, int] = {}
        for name in EXTRA_COLUMNS:  # a retry file read again: its extra columns are refilled
            if name not in names:
                self.header.append(name)
            self.extra_at[name] = names.index(name) if name in names else len(self.header) - 1
        self.result, self.ids = result, ids

    def row(self, cells: list[str], want: Resend) -> list[str]:
        row = cells + [""] * (len(self.header) - len(cells))
        new_id = self.ids.new(want, input_was_retry=self.was_retry)
        if new_id is not None:
            row[self.order_column] = new_id
        for name, value in _csv_extras(want).items():
            row[self.extra_at[name]] = value
        return row


def _write_csv(src: Path, fmt: InputFormat, by_line: dict[int, list[Resend]],
               handle: IO[str], result: RetryFile, ids: _Ids) -> set[tuple[str | None, int]]:
    rows = iter_csv_cells(src, fmt.delimiter)
    _, header = next(rows, (1, None))
    if header is None:
        raise InputError(f"{src}:1: the header cannot be read")
    copier = _CsvCopier(header, result, ids)
    writer = csv.writer(handle, delimiter=fmt.delimiter, lineterminator="\r\n")
    writer.writerow(copier.header)
    orders: set[tuple[str | None, int]] = set()
    for line, cells in rows:
        wants = by_line.pop(line, None)
        if not wants:
            continue
        want = wants[0]  # one row per CSV line: a line is one item, or one INVALID row
        if cells is None:
            result.left_out.append(_cannot_copy(want, src))
            continue
        writer.writerow(copier.row(cells, want))
        orders.add((want.order_id, want.order_line))
        result.items += 1
        result.outcomes[want.outcome.value] += 1
    return orders


def _jsonl_line(record: dict[str, Any], wants: list[Resend], ids: _Ids) -> dict[str, Any]:
    first = wants[0]
    was_retry = "previous_order_id" in record
    new_id = ids.new(first, input_was_retry=was_retry)
    if new_id is not None:
        record["order_id"] = new_id
    record["previous_order_id"] = first.order_id
    if first.item_index is None:  # INVALID: the whole line, whatever its items hold
        record.update(outcome=first.outcome.value, reason_code=first.reason_code,
                      reason=first.reason)
        return record
    items = record["items"]
    record["items"] = [{**items[w.item_index], "outcome": w.outcome.value,
                        "reason_code": w.reason_code, "reason": w.reason}
                       for w in wants if w.item_index is not None]
    return record


def _write_jsonl(src: Path, by_line: dict[int, list[Resend]], handle: IO[bytes],
                 result: RetryFile, ids: _Ids) -> set[tuple[str | None, int]]:
    orders: set[tuple[str | None, int]] = set()
    for line, raw in iter_jsonl_lines(src):
        wants = by_line.pop(line, None)
        if not wants:
            continue
        try:
            record = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            result.left_out.append(_cannot_copy(wants[0], src))
            continue
        handle.write(orjson.dumps(_jsonl_line(record, wants, ids), option=orjson.OPT_APPEND_NEWLINE))
        orders.add((wants[0].order_id, wants[0].order_line))
        counted = [w for w in wants if w.item_index is not None] or wants[:1]
        result.items += len(counted)
        result.outcomes.update(w.outcome.value for w in counted)
    return orders


def _warnings(result: RetryFile, out_dir: Path) -> None:
    for outcome in sorted(MAYBE_PLACED):
        n = result.outcomes.get(outcome.value, 0)
        if n:
            result.warnings.append(f"{n} {outcome.value} item{'s' if n != 1 else ''} included: "
                                   f"{DANGER[outcome]}; an item placed twice is a double charge")
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    if stats is None or stats.interrupted or not stats.finished_at:  # killed, or still running
        result.warnings.append("the run did not finish: the orders it did not finish are not in "
                               "the retry file; rerun the same command to finish them first")


def _unlocated(entries: list[Unlocated]) -> Iterator[str]:
    for entry in entries:
        outcomes = ", ".join(o.value for o in entry.outcomes)
        yield (f"order {entry.order_id or '(no id)'} ({outcomes}): not in the retry file, since "
               "the ledger does not record its input lines (written by an older batch-runner)")


def write_retry_file(out_dir: Path, *, include: frozenset[ItemOutcome] = DEFAULT_OUTCOMES,
                     input_path: Path | None = None) -> RetryFile:
    """Write DIR/retry.csv (or retry.jsonl, as the input) from the ledger and the run's input.

    Raises:
        InputError: the input file is gone or changed since the run (see night_input).
    """
    src = night_input(out_dir, input_path)
    fmt = file_format(src)
    by_line, unlocated = plan(read_ledger(out_dir / LEDGER_NAME), include)
    night = _night_ids_jsonl(src) if fmt.kind == "jsonl" else _night_ids_csv(src, fmt)
    ids = _Ids(night)
    name = RETRY_JSONL_NAME if fmt.kind == "jsonl" else RETRY_CSV_NAME
    result = RetryFile(path=out_dir / name)
    tmp = out_dir / (name + ".tmp")
    if fmt.kind == "jsonl":
        with _private(tmp, text=False) as handle:
            orders = _write_jsonl(src, by_line, handle, result, ids)
            _sync(handle)
    else:
        with _private(tmp, text=True, encoding="utf-8-sig" if fmt.bom else "utf-8") as handle:
            orders = _write_csv(src, fmt, by_line, handle, result, ids)
            _sync(handle)
    os.replace(tmp, result.path)
    result.orders = len(orders)
    for line, wants in sorted(by_line.items()):  # lines the input does not have
        result.left_out.append(f"{src.name} line {line} ({wants[0].order_id or 'no id'}): not in "
                               "the input file any more; not in the retry file")
    result.left_out.extend(_unlocated(unlocated))
    _warnings(result, out_dir)
    return result


def _sync(handle: IO[Any]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _say(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


def retry_file_command(out_dir: Path, include_text: str | None, input_path: Path | None,
                       *, say: Callable[..., None] = _say) -> int:
    """`batch-runner retry-file DIR [--include OUTCOMES] [--input FILE]`; returns the exit status."""
    if not (out_dir / LEDGER_NAME).is_file():
        raise UsageError(f"{out_dir} holds no {LEDGER_NAME}; give the --out directory of a run")
    try:
        extra = parse_outcomes(include_text or "")
    except ValueError as exc:
        raise UsageError(f"--include: {exc}") from None
    with locked(out_dir):  # never beside a run writing the same files
        result = write_retry_file(out_dir, include=DEFAULT_OUTCOMES | extra, input_path=input_path)
    for warning in result.warnings:
        say(f"batch-runner: warning: {warning}", err=True)
    for text in result.left_out:
        say(f"  left out: {text}")
    say(f"wrote {result.path} (mode 0600: it holds buyer data): {result.summary()}")
    return 0
