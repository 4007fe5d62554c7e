"""Physical lines of an input file, each read whole up to MAX_LINE_BYTES and never beyond."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from batch_runner.errors import InputError

#: A longer physical line is INVALID without being held in memory (a CSV row or a JSONL order is
#: at most a few hundred kB); also the csv module's field limit, so a long quoted field that spans
#: lines is read whole and reported once, by its column, instead of breaking the rows after it.
MAX_LINE_BYTES = 16 * 1024 * 1024

_OVERLONG = b"<overlong>"


def _read_line(handle: BinaryIO) -> bytes | None:
    """The next physical line; _OVERLONG (after skipping it) when it is longer than MAX_LINE_BYTES."""
    data = handle.readline(MAX_LINE_BYTES + 1)
    if not data:
        return None
    if len(data) <= MAX_LINE_BYTES:
        return data
    while data and not data.endswith(b"\n"):
        data = handle.readline(1 << 20)
    return _OVERLONG


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
