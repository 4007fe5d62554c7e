"""The retry file, end to end: the real runner against the simulator, then the file fed back."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from openpyxl import load_workbook

from batch_runner import cli
from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.errors import InputError
from batch_runner.ledger import CSV_COLUMNS, read_ledger
from batch_runner.retry_file import read_retry_file, write_retry_file
from batch_runner.simulator import Behaviour, SimConfig, running_simulator
from tests.pipeline.conftest import BUYER, SIM_FAST, order, run, settings_for, write_jsonl

GONE, CARD, OK = "B0GONE00001", "B0CARD00001", "B00A2KD8NY"
EXTRA = ["previous_order_id", "outcome", "reason_code", "reason"]


def sim_config(**script: Behaviour) -> SimConfig:
    return SimConfig(profile="happy", seed=3, script=script, **SIM_FAST)


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def cart_lines(truth: Any) -> list[tuple[str, str, int]]:
    return sorted(line for cart in truth.carts.values() for line in cart.items)


# --------------------------------------------------------------------------- the demo


def test_demo_retry_csv_holds_exactly_the_unplaced_items_and_runs_them(tmp_path: Path) -> None:
    """On the demo, retry.csv is the FAILED and INVALID items with every input column, mode 0600;
    a person fixes the INVALID quantity, and `run` creates carts for exactly those items, for the
    same buyers. ledger.xlsx shows each id as ledger.jsonl's string."""
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--quiet"]) == 1
    sample = Path(cli.__file__).with_name("sample_orders.csv")
    source = read_csv(sample)
    ledger = list(read_ledger(out / "ledger.jsonl"))
    expected = {(r.order_id, i.product_id) for r in ledger for i in r.items
                if i.outcome in (ItemOutcome.FAILED, ItemOutcome.INVALID)}
    expected |= {(row["order_id"], row["product_id"]) for r in ledger
                 if r.status is OrderStatus.INVALID for row in source if row["order_id"] == r.order_id}
    retry = out / "retry.csv"
    assert stat.S_IMODE(retry.stat().st_mode) == 0o600
    rows = read_csv(retry)
    assert list(rows[0]) == [*source[0], *EXTRA]
    assert {(r["previous_order_id"], r["product_id"]) for r in rows} == expected
    assert len(rows) == len(expected) == 4
    again = read_retry_file(out)
    assert again is not None
    assert (again.path, again.items, again.orders, dict(again.outcomes)) == (
        retry, 4, 4, {"FAILED": 3, "INVALID": 1})
    for report in ("report.md", "report.html"):  # the reviewer is told where the file is
        assert "retry.csv in this directory: 4 line items of 4 orders" in (out / report).read_text()
    by_key = {(s["order_id"], s["product_id"]): s for s in source}
    for row in rows:
        original = by_key[(row["previous_order_id"], row["product_id"])]
        assert {k: v for k, v in row.items() if k not in ("order_id", *EXTRA)} == {
            k: v for k, v in original.items() if k != "order_id"}
        assert row["order_id"] == row["previous_order_id"] + "-r1"
    check_xlsx_ids(out)

    fixed = tmp_path / "retry-fixed.csv"
    text = retry.read_text(encoding="utf-8")
    assert text.count(",two,") == 1  # the INVALID row, as the input had it
    fixed.write_text(text.replace(",two,", ",2,"), encoding="utf-8")

    async def again() -> tuple[int, list[Any], Any, list[dict[str, Any]]]:
        async with running_simulator(sim_config()) as sim:
            code, second = await run(settings_for(sim, tmp_path, fixed))
            buyers = [c.buyer for c in sim.world.carts.values()]
            return code, second, sim.truth(), buyers

    code, second, truth, buyers = anyio.run(again)
    assert code == 0
    assert cart_lines(truth) == sorted(
        ("AMAZON", r["product_id"], int(r["quantity"].replace("two", "2"))) for r in rows)
    assert {r.order_id for r in second} == {r["order_id"] for r in rows}
    assert sorted(b["email"] for b in buyers) == sorted(r["email"] for r in rows)


def check_xlsx_ids(out: Path) -> None:
    sheet = load_workbook(out / "ledger.xlsx")["ledger"]
    cells = {name: n for n, name in enumerate(CSV_COLUMNS)}
    shown = [(r[cells["order_id"]], r[cells["product_id"]], r[cells["cart_id"]],
              r[cells["rye_order_id"]]) for r in sheet.iter_rows(min_row=2, values_only=True)
             if r[cells["product_id"]] is not None]
    want = [(r.order_id, i.product_id, i.cart_id, i.rye_order_id)
            for r in sorted(read_ledger(out / "ledger.jsonl"), key=lambda r: min(r.lines))
            for i in r.items]
    assert shown == want
    assert any(len(pid) == 14 and pid.isdigit() for _, pid, _, _ in shown)  # Shopify variant ids


# --------------------------------------------------------------------------- JSONL


def jsonl_input(path: Path, *more: dict[str, Any]) -> Path:
    write_jsonl(path, [
        order("A-1", ("AMAZON", OK), ("AMAZON", GONE, 2)),
        order("A-2", ("AMAZON", CARD), payment_token="tok_declined"),
        order("A-3", ("AMAZON", OK, 0)),
        order("A-1-r1", ("AMAZON", OK)),  # an id of the night that the new id must not take
        *more,
    ])
    with path.open("ab") as handle:
        handle.write(b"{not json\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_jsonl_retry_keeps_the_objects_adds_keys_and_renumbers_a_retry_of_a_retry(
    tmp_path: Path
) -> None:
    """retry.jsonl: the unplaced item of a PARTIAL order, a FAILED order, the INVALID order
    whole, ids that skip the night's own; the unparsable line is left out and said. Run as
    input, its own retry file numbers -r2."""
    source = jsonl_input(tmp_path / "night.jsonl")
    async with running_simulator(sim_config(**{GONE: Behaviour.NOT_FOUND,
                                               CARD: Behaviour.SUBMIT_FAIL_FALSE})) as sim:
        code, _ = await run(settings_for(sim, tmp_path, source))
        assert code == 1
        first = read_jsonl(tmp_path / "out" / "retry.jsonl")
        assert stat.S_IMODE((tmp_path / "out" / "retry.jsonl").stat().st_mode) == 0o600
        assert [(o["order_id"], o["previous_order_id"]) for o in first] == [
            ("A-1-r2", "A-1"), ("A-2-r1", "A-2"), ("A-3-r1", "A-3")]
        assert first[0]["buyer"] == BUYER
        assert [(i["product_id"], i["quantity"], i["outcome"], i["reason_code"])
                for i in first[0]["items"]] == [(GONE, 2, "FAILED", "PRODUCT_NOT_FOUND")]
        assert first[1]["payment_token"] == "tok_declined"
        assert first[2]["outcome"] == "INVALID"
        assert first[2]["reason"].startswith("night.jsonl line 3, items[0].quantity: must be")
        assert not (tmp_path / "out" / "retry.csv").exists()
        counted = read_retry_file(tmp_path / "out")
        assert counted is not None
        assert counted.summary() == ("3 line items of 3 orders to fix and send again "
                                     "(2 FAILED, 1 INVALID)")

        second_input = tmp_path / "retry-1.jsonl"
        second_input.write_bytes((tmp_path / "out" / "retry.jsonl").read_bytes())
        code, ledger = await run(settings_for(sim, tmp_path / "2", second_input))
    assert code == 1
    assert {r.order_id for r in ledger} == {"A-1-r2", "A-2-r1", "A-3-r1"}
    again = read_jsonl(tmp_path / "2" / "out" / "retry.jsonl")
    assert [(o["order_id"], o["previous_order_id"]) for o in again] == [
        ("A-1-r3", "A-1-r2"), ("A-2-r2", "A-2-r1"), ("A-3-r2", "A-3-r1")]


async def test_retry_file_command_warns_includes_and_says_what_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--include STUCK adds the STUCK item with a warning on stderr; the line that is not JSON
    is named as left out; PLACED cannot be asked for (exit 2)."""
    source = jsonl_input(tmp_path / "night.jsonl", order("A-5", ("AMAZON", "B0STUCK0001")))
    async with running_simulator(sim_config(**{GONE: Behaviour.NOT_FOUND,
                                               "B0STUCK0001": Behaviour.STUCK})) as sim:
        await run(settings_for(sim, tmp_path, source))
    capsys.readouterr()
    out = tmp_path / "out"
    assert cli.main(["retry-file", str(out)]) == 0
    default = capsys.readouterr()
    assert "A-5" not in (out / "retry.jsonl").read_text()
    assert "night.jsonl line 6: the line is not valid JSON" in default.out
    assert "left out" in default.out
    assert default.err == ""
    assert cli.main(["retry-file", str(out), "--include", "stuck"]) == 0
    included = capsys.readouterr()
    assert [o["previous_order_id"] for o in read_jsonl(out / "retry.jsonl")][-1] == "A-5"
    assert "warning: 1 STUCK item included" in included.err
    assert "wrote " in included.out
    assert "mode 0600" in included.out
    assert cli.main(["retry-file", str(out), "--include", "PLACED"]) == 2
    assert "PLACED items are never resent" in capsys.readouterr().err


# --------------------------------------------------------------------------- CSV dialect, safety


def semicolon_csv(path: Path) -> Path:
    header = "order_id;marketplace;product_id;quantity;first_name;last_name;email;address1;city;" \
             "postal_code;country_code;note"
    rows = [f"B-1;AMAZON;{OK};1;Zoë;Müller;z@example.com;\"Hauptstraße 1; Hof\";Berlin;10115;DE;keep",
            f"B-1;AMAZON;{GONE};3;Zoë;Müller;z@example.com;\"Hauptstraße 1; Hof\";Berlin;10115;DE;me",
            "B-2;AMAZON;B07XJ8C8F5;1;Jan;de Vries;j@example.com;Dam 1;Amsterdam;1012;NL;=1+1"]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([header, *rows]).encode() + b"\r\n")
    return path


async def test_a_semicolon_csv_gives_a_semicolon_retry_csv_with_every_column(tmp_path: Path) -> None:
    """Same delimiter, BOM and columns (an unknown `note` too); a cell copied as the input has
    it; the input changed afterwards is refused rather than matched."""
    source = semicolon_csv(tmp_path / "orders.csv")
    async with running_simulator(sim_config(**{GONE: Behaviour.NOT_FOUND})) as sim:
        code, _ = await run(settings_for(sim, tmp_path, source))
    assert code == 1
    retry = tmp_path / "out" / "retry.csv"
    raw = retry.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbforder_id;marketplace;")
    [row] = read_csv(retry, ";")
    assert row["order_id"] == "B-1-r1"
    assert (row["product_id"], row["quantity"], row["address1"], row["note"]) == (
        GONE, "3", "Hauptstraße 1; Hof", "me")
    assert (row["outcome"], row["reason_code"]) == ("FAILED", "PRODUCT_NOT_FOUND")

    source.write_bytes(source.read_bytes().replace(b"Jan", b"Jon"))
    with pytest.raises(InputError, match=r"is not the file the run in .* read"):
        write_retry_file(tmp_path / "out")
    assert retry.read_bytes() == raw  # the file made from the right input stays


def csv_rows_of(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.reader(handle, delimiter=";")


async def test_a_retry_csv_run_again_refills_its_columns_instead_of_adding_them(tmp_path: Path) -> None:
    """retry.csv as the next input: its retry file has the same header, ids -r2."""
    source = semicolon_csv(tmp_path / "orders.csv")
    async with running_simulator(sim_config(**{GONE: Behaviour.NOT_FOUND})) as sim:
        await run(settings_for(sim, tmp_path, source))
        first = tmp_path / "retry-1.csv"
        first.write_bytes((tmp_path / "out" / "retry.csv").read_bytes())
        code, _ = await run(settings_for(sim, tmp_path / "2", first))
    assert code == 1
    header_1, *_ = list(csv_rows_of(first))
    header_2, row = list(csv_rows_of(tmp_path / "2" / "out" / "retry.csv"))
    assert header_1 == header_2
    got = dict(zip(header_2, row, strict=True))
    assert (got["order_id"], got["previous_order_id"]) == ("B-1-r2", "B-1-r1")


async def test_a_duplicate_order_id_block_gets_its_own_new_id(tmp_path: Path) -> None:
    """A FAILED order and a later block with the same id (INVALID as a duplicate): each keeps
    its rows together under its own new id, so the retry file has no duplicate of its own."""
    header = ("order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,"
              "postal_code,country_code")
    buyer = "Ada,Lovelace,ada@example.com,1 Main St,Springfield,12345,US"
    source = tmp_path / "orders.csv"
    source.write_text("\n".join([header, f"D-1,AMAZON,{CARD},1,{buyer}", f"D-2,AMAZON,{OK},1,{buyer}",
                                 f"D-1,AMAZON,{OK},2,{buyer}", f"D-1,AMAZON,{OK},3,{buyer}"]) + "\n")
    async with running_simulator(sim_config(**{CARD: Behaviour.SUBMIT_FAIL_FALSE})) as sim:
        code, _ = await run(settings_for(sim, tmp_path, source))
        assert code == 1
        rows = read_csv(tmp_path / "out" / "retry.csv")
        assert [(r["order_id"], r["quantity"], r["outcome"]) for r in rows] == [
            ("D-1-r1", "1", "FAILED"), ("D-1-r2", "2", "INVALID"), ("D-1-r2", "3", "INVALID")]
        retry = tmp_path / "retry.csv"
        retry.write_bytes((tmp_path / "out" / "retry.csv").read_bytes())
        code, ledger = await run(settings_for(sim, tmp_path / "2", retry))
    assert {r.order_id: r.status for r in ledger} == {"D-1-r1": OrderStatus.FAILED,
                                                      "D-1-r2": OrderStatus.PLACED}
