"""`batch-runner validate` end to end on unusable and odd input files: the SPEC's exit code, a
message naming the file, and never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEADER = b"order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,postal_code,country_code"
ROW = b"A,AMAZON,B1,1,Ada,Lovelace,ada@example.com,1 Main St,Springfield,12345,US"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "batch_runner", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("name", "data", "code", "says"), [
    ("empty.csv", b"", 2, "the file is empty"),
    ("blank-first-line.csv", b"\n" + HEADER + b"\n" + ROW + b"\n", 2, "line 1 is blank"),
    ("missing.csv", b"order_id,marketplace,quantity\nA,AMAZON,1\n", 2,
     "required columns missing: product_id, first_name"),
    ("twice.csv", HEADER + b",Quantity\n" + ROW + b",2\n", 2, "more than once"),
    ("binary.csv", bytes(range(256)) * 40, 2, "required columns missing"),
    ("latin1-header.csv", HEADER.replace(b"city", b"cit\xe9") + b"\n" + ROW + b"\n", 2, "not UTF-8"),
    ("header-only.csv", b"\xef\xbb\xbf" + HEADER + b"\r\n", 0, "0 valid orders, 0 line items, 0 invalid orders"),
    ("binary.jsonl", b"\x00\xff\xfe{\n" + bytes(range(256)), 1, "binary.jsonl line 1: the line is not valid JSON"),
    ("empty.jsonl", b"", 0, "0 valid orders"),
])
def test_validate_on_odd_files_exits_per_spec_without_traceback(
    tmp_path: Path, name: str, data: bytes, code: int, says: str
) -> None:
    """Unusable file: exit 2 and one error line naming it. Usable with bad orders: 1. Zero orders: 0."""
    path = tmp_path / name
    path.write_bytes(data)
    result = validate(path)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    output = result.stderr if code == 2 else result.stdout
    assert says in output
    assert str(path) in output
    if code == 2:
        assert result.stderr.startswith(f"batch-runner: error: {path}")
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""


def test_validate_lists_bad_orders_with_file_and_line_and_counts_the_rest(tmp_path: Path) -> None:
    """A Latin-1 row and a 10 MB field are INVALID lines in the output; the good order is counted."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join([HEADER, ROW.replace(b"Ada", b"Jos\xe9"), ROW.replace(b"A,", b"B,", 1),
                                 ROW.replace(b"A,", b"C,", 1).replace(b"Springfield", b"x" * 10_000_000), b""]))
    result = validate(path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{path}: CSV, comma-separated (,)" in result.stdout
    assert f"{path} line 2: the line is not valid UTF-8" in result.stdout
    assert f"{path} line 4, city: longer than 10000 characters (order C)" in result.stdout
    assert "1 valid orders, 1 line items, 2 invalid orders" in result.stdout
