"""Whom an action concerns: the buyer's name and email, read from the input when a report is made.

The ledger and the journal hold no buyer data (SPEC: no PII there), yet the person sending a
3-D Secure link or explaining a failure needs to know to whom. So the report reads them back
from the input file, streamed, for the orders of its action list only, and keeps them no longer
than the rendering. The input is read raw, row by row, so that an INVALID order's buyer is
found too (the loader gives no buyer for an order it refused).

Keys: an order's id (its first block of rows in the input) and, for INVALID entries, the input
line the ledger names (the buyer of the block of rows that line belongs to).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from batch_runner.core.model import ItemOutcome, LedgerRecord
from batch_runner.core.rollup import actions_of
from batch_runner.errors import BatchRunnerError, InputError
from batch_runner.load import file_format
from batch_runner.load_csv import _csv_records  # the loader's own reading of the file
from batch_runner.load_jsonl import iter_jsonl_lines
from batch_runner.unfinished import run_input

BuyerKey = str | int  #: an order id, or the input line of an INVALID entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Buyer:
    name: str
    email: str | None

    @property
    def text(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


def _buyer(values: Mapping[str, Any], prefix: str = "") -> Buyer | None:
    def get(name: str) -> str:
        value = values.get(prefix + name)
        return " ".join(value.split()) if isinstance(value, str) else ""

    name = " ".join(p for p in (get("first_name"), get("last_name")) if p)
    email = get("email") or None
    return Buyer(name=name or "(no name)", email=email) if name or email else None


def _csv_rows(path: Path) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    for line, row, _, _ in _csv_records(path):
        if row is not None and row.get("order_id"):
            yield line, row["order_id"], row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """The loader's own lines (byte-order mark removed, overlong lines skipped unread)."""
    for line, raw in iter_jsonl_lines(path):
        try:
            record = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("buyer"), dict):
            yield line, str(record.get("order_id") or ""), record["buyer"]


def lookup(path: Path, *, order_ids: Collection[str], lines: Collection[int]) -> dict[BuyerKey, Buyer]:
    """The buyers of `order_ids` and of the INVALID entries at `lines`, in one pass over `path`.

    Raises:
        InputError: the input cannot be read.
    """
    wanted_ids, found = set(order_ids), set()
    buyers: dict[BuyerKey, Buyer] = {}
    if not wanted_ids and not lines:
        return buyers
    try:
        rows = _jsonl_rows(path) if file_format(path).kind == "jsonl" else _csv_rows(path)
        block: tuple[str, Buyer | None] = ("", None)  # the order id and buyer of the rows so far
        for line, order_id, values in rows:
            if order_id != block[0] or not order_id:
                block = (order_id, _buyer(values))
                if order_id in wanted_ids and order_id not in found and block[1]:
                    found.add(order_id)
                    buyers[order_id] = block[1]
            if line in lines and block[1]:
                buyers[line] = block[1]
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return buyers


def for_actions(out_dir: Path, records: Iterable[LedgerRecord]) -> dict[BuyerKey, Buyer] | None:
    """The buyers of the action list's orders, read from the input of the run in `out_dir`;
    None when it is gone or changed since the run (no buyer is better than a wrong one)."""
    actions = [a for r in records for a in actions_of(r)]
    ids = {a.order_id for a in actions if a.order_id and a.outcome is not ItemOutcome.INVALID}
    lines = {a.line for a in actions if a.line is not None}
    path = run_input(out_dir) if ids or lines else None
    if path is None:
        return None
    try:
        return lookup(path, order_ids=ids, lines=lines)
    except BatchRunnerError:
        return None
