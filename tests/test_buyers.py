"""The buyer named beside an action: read from the input, by order id or by the INVALID line."""

from __future__ import annotations

from pathlib import Path

import orjson

from batch_runner.buyers import Buyer, lookup

HEADER = "order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,postal_code,country_code"


def test_csv_buyers_by_order_id_and_by_the_line_of_an_invalid_row(tmp_path: Path) -> None:
    """An order's first block gives its buyer; a bad row (other email) is named by its order's
    first row; a later block of the same id (a duplicate) has its own buyer, by line."""
    path = tmp_path / "in.csv"
    rows = [HEADER,
            "A-1,AMAZON,B1,1,Ada,Lovelace,ada@example.com,1 St,York,1,US",
            "A-1,AMAZON,B2,1,Ada,Lovelace,other@example.com,1 St,York,1,US",
            "B-2,AMAZON,B3,1,Grace,Hopper,grace@example.com,2 St,York,1,US",
            "A-1,AMAZON,B4,1,Eve,Later,eve@example.com,3 St,York,1,US"]
    path.write_text("".join(f"{r}\n" for r in rows))
    found = lookup(path, order_ids={"A-1", "B-2", "Z-9"}, lines={3, 5})
    assert found == {
        "A-1": Buyer(name="Ada Lovelace", email="ada@example.com"),
        "B-2": Buyer(name="Grace Hopper", email="grace@example.com"),
        3: Buyer(name="Ada Lovelace", email="ada@example.com"),
        5: Buyer(name="Eve Later", email="eve@example.com"),
    }


def test_jsonl_buyers_and_lines_without_a_buyer(tmp_path: Path) -> None:
    """JSONL: the buyer object of the line; a line that is not JSON or has no buyer gives none."""
    path = tmp_path / "in.jsonl"
    lines = [orjson.dumps({"order_id": "J-1", "buyer": {"first_name": "Ada", "last_name": "L",
                                                        "email": "ada@example.com"}}),
             b"{not json",
             orjson.dumps({"order_id": "J-3", "buyer": {"first_name": "  Bo  "}})]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    found = lookup(path, order_ids={"J-1"}, lines={2, 3})
    assert found == {"J-1": Buyer(name="Ada L", email="ada@example.com"),
                     3: Buyer(name="Bo", email=None)}
    assert Buyer(name="Bo", email=None).text == "Bo"


def test_a_jsonl_file_with_a_byte_order_mark_names_its_first_buyer(tmp_path: Path) -> None:
    """The loader reads a BOM-led JSONL file; the action list must name its first buyer too."""
    path = tmp_path / "in.jsonl"
    first = orjson.dumps({"order_id": "J-1", "buyer": {"first_name": "Ada", "last_name": "L",
                                                       "email": "ada@example.com"}})
    path.write_bytes(b"\xef\xbb\xbf" + first + b"\n")
    assert lookup(path, order_ids={"J-1"}, lines=set()) == {
        "J-1": Buyer(name="Ada L", email="ada@example.com")}
