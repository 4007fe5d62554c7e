"""Stream CSV and JSONL order files into Order or InvalidOrder values, one order at a time.

Only a file that cannot be used at all raises InputError (exit 2); every bad order becomes an
InvalidOrder naming file, line and field, and the stream goes on. Memory does not grow with the
file: CSV rows are grouped by contiguous order_id, and only the set of order ids seen is kept.
The CSV delimiter (`,` `;` or tab) and JSONL are told from the first line (input_format.py).
Each format has its own reader (load_csv.py, load_jsonl.py); both check an order's fields, and
word what is wrong with them, the same way (load_fields.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from batch_runner.core.model import InvalidOrder, Order
from batch_runner.errors import InputError
from batch_runner.input_format import InputFormat, input_format, is_jsonl, refuse_json_array
from batch_runner.load_csv import KNOWN_COLUMNS, iter_csv
from batch_runner.load_jsonl import iter_jsonl


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSummary:
    orders: int
    items: int
    invalid: int
    invalid_examples: tuple[InvalidOrder, ...]


def iter_orders(path: Path) -> Iterator[Order | InvalidOrder]:
    """Orders (or INVALID records) from the CSV or JSONL file at `path`, streamed.

    Raises:
        InputError: no such file, unreadable, a JSON array, or (CSV) an unusable header.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    refuse_json_array(path, head)
    return iter_jsonl(path) if is_jsonl(path, head) else iter_csv(path)


def file_format(path: Path) -> InputFormat:
    """How the orders file is written (CSV and its delimiter, or JSONL), for validate and retry."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return input_format(path, KNOWN_COLUMNS)


def summarize(path: Path) -> FileSummary:
    orders = items = invalid = 0
    examples: list[InvalidOrder] = []
    for entry in iter_orders(path):
        if isinstance(entry, InvalidOrder):
            invalid += 1
            if len(examples) < 20:
                examples.append(entry)
        else:
            orders += 1
            items += len(entry.items)
    return FileSummary(orders=orders, items=items, invalid=invalid, invalid_examples=tuple(examples))
