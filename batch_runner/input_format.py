"""What kind of orders file this is: CSV (and its delimiter) or JSONL, told from its first bytes.

Spreadsheets write CSV with the delimiter of their locale: Excel in much of Europe writes `;`,
and "Unicode text" exports use a tab. The delimiter is the one of `,`, `;` and tab that splits the
header line into the most known column names; the loader then reads every row with it. Only the
first line is read here: the loader streams the rest. This module decides and raises nothing
about rows; an unusable file is an InputError naming it.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from batch_runner.errors import InputError

#: The delimiters a header is tried with, the first winning a tie (so a one-column file is ",").
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: How far a first line is read to tell the format: a header is a few hundred bytes.
_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class InputFormat:
    """How an orders file is written."""

    kind: str  #: "csv" or "jsonl"
    delimiter: str = ","  #: CSV only
    bom: bool = False  #: the file starts with a UTF-8 byte-order mark

    def describe(self) -> str:
        """`CSV, semicolon-separated (;)` or `JSONL (one order per line)`, for validate."""
        if self.kind == "jsonl":
            return "JSONL (one order per line)"
        shown = "\\t" if self.delimiter == "\t" else self.delimiter
        return f"CSV, {DELIMITER_NAMES[self.delimiter]}-separated ({shown})"


def sniff_delimiter(header: str, known: frozenset[str]) -> str:
    """The delimiter that splits `header` into the most names from `known` (case-insensitive)."""
    best, best_score = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            continue
        score = sum(c.strip().lstrip("\ufeff").strip().lower() in known for c in cells)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def is_json_array(path: Path, head: bytes) -> bool:
    """The file is one JSON array of orders (`[{...}, ...]` or `[]`), not JSON Lines.

    A file named .jsonl is JSON Lines unless its first line is a lone `[` (a pretty-printed
    array): a first line `[{...}]` there is one bad line, reported as such, not the whole file."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text.startswith(b"["):
        return False
    if text.split(b"\n", 1)[0].strip() == b"[":
        return True
    if path.suffix.lower() in JSONL_SUFFIXES:
        return False
    return text[1:].lstrip()[:1] in (b"{", b"]", b"")


def refuse_json_array(path: Path, head: bytes) -> None:
    """Raise InputError when the file is a JSON array. It would have to be read whole before the
    first order, so it is refused with the one-line fix rather than read."""
    if is_json_array(path, head):
        raise InputError(
            f"{path}: JSON array: write one order per line (JSONL), e.g. "
            f"jq -c '.[]' {path.name} > {path.stem}.jsonl"
        )


def is_jsonl(path: Path, head: bytes) -> bool:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return True
    if suffix == ".csv":
        return False
    return head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{")


def input_format(path: Path, known_columns: frozenset[str]) -> InputFormat:
    """The format of the orders file at `path`, from its first line.

    Raises:
        InputError: the file cannot be read, or is a JSON array.
    """
    head = _head(path)
    refuse_json_array(path, head)
    bom = head.startswith(codecs.BOM_UTF8)
    if is_jsonl(path, head):
        return InputFormat(kind="jsonl", bom=bom)
    first = head.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0]
    delimiter = sniff_delimiter(first.decode("utf-8", errors="replace"), known_columns)
    return InputFormat(kind="csv", delimiter=delimiter, bom=bom)
