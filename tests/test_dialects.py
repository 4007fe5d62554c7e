"""Input dialects: `,` `;` and tab CSV told from the header, JSON arrays refused with the fix, and
validate's messages worded as a person reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner import cli
from batch_runner.core.model import InvalidOrder, Order
from batch_runner.errors import InputError
from batch_runner.load import iter_orders

COLUMNS = ["order_id", "marketplace", "product_id", "quantity", "first_name", "last_name", "email",
           "address1", "city", "postal_code", "country_code", "billing_first_name"]
ROWS = [
    ["A-1", "AMAZON", "B00A2KD8NY", "1", "Zoë", "Müller", "z@example.com", "Hauptstraße 1, Hof",
     "Berlin", "10115", "DE", ""],
    ["A-1", "SHOPIFY", "44000000000101", "2", "Zoë", "Müller", "z@example.com",
     "Hauptstraße 1, Hof", "Berlin", "10115", "DE", ""],
    ["B-2", "AMAZON", "B07XJ8C8F5", "1.5", "Jan", "de Vries", "j@example.com", "Dam 1; achter",
     "Amsterdam", "1012", "NL", ""],
]


def write(path: Path, delimiter: str) -> Path:
    def cell(value: str) -> str:
        return f'"{value}"' if delimiter in value or "," in value or ";" in value else value
    lines = [delimiter.join(COLUMNS)] + [delimiter.join(cell(v) for v in row) for row in ROWS]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_reads_the_same_orders(tmp_path: Path, delimiter: str) -> None:
    """A comma, semicolon or tab file gives the same orders, items, lines and messages."""
    entries = list(iter_orders(write(tmp_path / "in.csv", delimiter)))
    order, bad = entries
    assert isinstance(order, Order)
    assert isinstance(bad, InvalidOrder)
    assert order.buyer.address1 == "Hauptstraße 1, Hof"
    assert [i.product_id for i in order.items] == ["B00A2KD8NY", "44000000000101"]
    assert order.item_lines == (2, 3)
    assert (bad.order_id, bad.line, bad.field) == ("B-2", 4, "quantity")
    assert bad.message == 'must be a whole number \u2265 1 (got "1.5")'
    assert bad.lines == (4,)


@pytest.mark.parametrize(("delimiter", "named"), [
    (",", "CSV, comma-separated (,)"), (";", "CSV, semicolon-separated (;)"),
    ("\t", "CSV, tab-separated (\\t)"),
])
def test_validate_names_the_delimiter_and_words_messages_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], delimiter: str, named: str
) -> None:
    """validate says which delimiter it read, and each bad line as `file line N, field: why`."""
    path = write(tmp_path / "orders.csv", delimiter)
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: {named}\n" in out
    assert (f'{path} line 4, quantity: must be a whole number \u2265 1 (got "1.5") (order B-2)'
            in out)
    assert "1 valid orders, 2 line items, 1 invalid orders" in out


def test_a_bom_and_semicolons_as_excel_writes_them(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" in a semicolon locale: BOM, `;`, CRLF. Read like any other CSV."""
    path = write(tmp_path / "in.csv", ";")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    order = next(iter_orders(path))
    assert isinstance(order, Order)
    assert order.order_id == "A-1"


@pytest.mark.parametrize(("name", "text"), [
    ("orders.json", '[{"order_id": "A-1"}, {"order_id": "A-2"}]\n'),
    ("orders.json", '[\n  {"order_id": "A-1"}\n]\n'),
    ("orders", '  [ {"order_id": "A-1"} ]'),
    ("orders.jsonl", '[\n  {"order_id": "A-1"}\n]\n'),
    ("orders.json", "[]"),
])
def test_a_json_array_is_refused_with_the_fix(tmp_path: Path, name: str, text: str) -> None:
    """A JSON array file is one InputError saying to write one order per line, with a command."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=r"JSON array: write one order per line \(JSONL\), e\.g\. "
                                         r"jq -c '\.\[\]'"):
        list(iter_orders(path))


def test_an_array_line_in_a_jsonl_file_is_one_invalid_line(tmp_path: Path) -> None:
    """In a file named .jsonl, a line holding an array is that line's problem, not the file's."""
    path = tmp_path / "orders.jsonl"
    path.write_text('[{"order_id": "A-1"}]\n')
    [bad] = list(iter_orders(path))
    assert isinstance(bad, InvalidOrder)
    assert "JSON array, not one order" in bad.message


def test_validate_of_a_json_array_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate refuses the array file (exit 2) with the message, no traceback."""
    path = tmp_path / "orders.json"
    path.write_text('[{"order_id": "A-1"}]')
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"batch-runner: error: {path}: JSON array: write one order per line")
    assert err.count("\n") == 1
