"""ledger.jsonl is durable and tolerant of a torn tail; ledger.csv is spreadsheet-safe; run stats round-trip."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import orjson
import pytest

from batch_runner.core.model import (
    CartRecord,
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.errors import JournalError
from batch_runner.ledger import (
    CSV_COLUMNS,
    FORMULA_STARTS,
    LedgerWriter,
    RunStats,
    ledger_order_ids,
    read_ledger,
    read_run_stats,
    safe_cell,
    write_ledger_csv,
    write_run_stats,
)


def placed(order_id: str, *, product_id: str = "B00A2KD8NY", reason: str | None = None) -> LedgerRecord:
    return LedgerRecord(
        order_id=order_id, status=OrderStatus.PLACED,
        items=(ItemResult(marketplace=Marketplace.AMAZON, product_id=product_id, quantity=2,
                          outcome=ItemOutcome.PLACED, reason=reason, cart_id="cart_1",
                          rye_order_id="ro_1"),),
        carts=(CartRecord(cart_id="cart_1", generation=0, submitted=True),),
        started_at="2026-11-24T22:00:00+00:00", finished_at="2026-11-24T22:01:00+00:00",
    )


def invalid(order_id: str | None, *, items: tuple[ItemResult, ...] = ()) -> LedgerRecord:
    return LedgerRecord(
        order_id=order_id, status=OrderStatus.INVALID, items=items,
        invalid=InvalidInfo(file="orders.csv", line=7, field="quantity", message="must be >= 1"),
    )


def write(tmp_path: Path, *records: LedgerRecord) -> Path:
    with LedgerWriter(tmp_path) as writer:
        for record in records:
            writer.write(record)
    return tmp_path / "ledger.jsonl"


def csv_rows(tmp_path: Path, *records: LedgerRecord) -> list[dict[str, str]]:
    write_ledger_csv(write(tmp_path, *records), tmp_path / "ledger.csv")
    with (tmp_path / "ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_records_round_trip_through_the_ledger(tmp_path: Path) -> None:
    """What the writer writes, read_ledger gives back equal, in order, one line per order."""
    records = [placed("A-1"), invalid("A-2"), placed("A-3", reason="née Ünïcode ✓")]
    path = write(tmp_path, *records)
    assert list(read_ledger(path)) == records
    assert path.read_bytes().count(b"\n") == 3


def test_every_record_is_fsynced_before_write_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write() flushes and fsyncs each line, so a finished order survives a crash."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with LedgerWriter(tmp_path) as writer:
        writer.write(placed("A-1"))
        assert len(synced) == 1
        assert (tmp_path / "ledger.jsonl").read_bytes().endswith(b"\n")
        writer.write(placed("A-2"))
    assert len(synced) == 2


def test_a_second_writer_appends(tmp_path: Path) -> None:
    """A resumed run appends to the ledger of the first one instead of replacing it."""
    write(tmp_path, placed("A-1"))
    path = write(tmp_path, placed("A-2"))
    assert [r.order_id for r in read_ledger(path)] == ["A-1", "A-2"]
    assert ledger_order_ids(path) == {"A-1", "A-2"}


@pytest.mark.parametrize("tail", [b'{"order_id": "half', b"\x00\x00\x00", b"{}", b"[1, 2"])
def test_a_torn_last_line_is_ignored(tmp_path: Path, tail: bytes) -> None:
    """Whatever a crash left after the last newline is skipped, and so is a damaged last line."""
    path = write(tmp_path, placed("A-1"))
    with path.open("ab") as handle:
        handle.write(tail)
    assert [r.order_id for r in read_ledger(path)] == ["A-1"]


def test_a_whole_record_without_its_newline_is_treated_as_torn(tmp_path: Path) -> None:
    """A line cut just before its newline is not trusted, like any torn tail."""
    path = write(tmp_path, placed("A-1"))
    with path.open("ab") as handle:
        handle.write(orjson.dumps(placed("A-2")))
    assert [r.order_id for r in read_ledger(path)] == ["A-1"]


def test_damage_before_the_last_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    """A broken line in the middle is refused, since skipping it could place that order again."""
    path = write(tmp_path, placed("A-1"))
    with path.open("ab") as handle:
        handle.write(b'{"order_id": "x", "status": "NOT_A_STATUS"}\n')
    write(tmp_path, placed("A-3"))
    with pytest.raises(JournalError, match=r"ledger.jsonl:2 is not a ledger record"):
        list(read_ledger(path))


def test_blank_lines_and_a_missing_ledger_read_as_nothing(tmp_path: Path) -> None:
    """No ledger yet means no records; blank lines are not records."""
    assert list(read_ledger(tmp_path / "ledger.jsonl")) == []
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"\n" + orjson.dumps(placed("A-1"), option=orjson.OPT_APPEND_NEWLINE) + b"\n")
    assert [r.order_id for r in read_ledger(path)] == ["A-1"]


@pytest.mark.parametrize("first", FORMULA_STARTS)
def test_safe_cell_neutralises_each_dangerous_first_character(first: str) -> None:
    """A cell starting with = + - @ TAB or CR gets a leading apostrophe."""
    assert safe_cell(f"{first}cmd|' /C calc'!A0") == f"'{first}cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", ["plain", "A=1", " =1", "", None, 3, "'quoted"])
def test_safe_cell_leaves_harmless_values_alone(value: object) -> None:
    """Values that do not start with a formula character are written as they are."""
    assert safe_cell(value) == ("" if value is None else str(value))


@pytest.mark.parametrize("first", FORMULA_STARTS)
def test_ledger_csv_neutralises_formulas_in_every_user_text_column(tmp_path: Path, first: str) -> None:
    """Order id, product id, reason and invalid message with a formula start all come out quoted."""
    evil = f"{first}HYPERLINK(\"http://evil.example\")"
    item = ItemResult(marketplace=Marketplace.SHOPIFY, product_id=evil, quantity=1,
                      outcome=ItemOutcome.FAILED, reason_code=evil, reason=evil, cart_id=evil)
    record = LedgerRecord(order_id=evil, status=OrderStatus.FAILED, items=(item,))
    broken = LedgerRecord(order_id=evil, status=OrderStatus.INVALID, items=(),
                          invalid=InvalidInfo(file=evil, line=2, field=evil, message=evil))
    rows = csv_rows(tmp_path, record, broken)
    cells = [v for row in rows for v in row.values() if v]
    assert all(not v.startswith(FORMULA_STARTS) for v in cells)
    # order, product, reason code, reason, cart; order, invalid file and field. The message is
    # in the reason alone, after the file's name and the line ("evil.example\")" line 2, ...").
    assert sum(v == "'" + evil for v in cells) == 5 + 3
    assert "invalid_message" not in rows[0]


def test_ledger_csv_has_a_row_per_item_and_one_for_an_itemless_invalid_order(tmp_path: Path) -> None:
    """Two items give two rows; an INVALID order with no items still gets its row."""
    two = LedgerRecord(order_id="A-1", status=OrderStatus.PARTIAL, lines=(2, 3), items=(
        ItemResult(marketplace=Marketplace.AMAZON, product_id="B1", quantity=1,
                   outcome=ItemOutcome.PLACED, cart_id="c", rye_order_id="r"),
        ItemResult(marketplace=Marketplace.SHOPIFY, product_id="45", quantity=3,
                   outcome=ItemOutcome.FAILED, reason_code="OUT_OF_STOCK", reason="gone"),
    ))
    rows = csv_rows(tmp_path, two, invalid(None))
    assert [r["outcome"] for r in rows] == ["PLACED", "FAILED", "INVALID"]
    assert rows[1]["reason_code"] == "OUT_OF_STOCK"
    assert rows[1]["quantity"] == "3"
    assert rows[2]["order_id"] == ""
    assert rows[2]["order_status"] == "INVALID"
    assert (rows[2]["invalid_file"], rows[2]["invalid_line"], rows[2]["invalid_field"]) == (
        "orders.csv", "7", "quantity")
    assert rows[2]["reason"] == "orders.csv line 7, quantity: must be >= 1"
    assert [r["input_line"] for r in rows] == ["2", "3", "7"]


def test_ledger_csv_rows_follow_the_input_not_the_completion_order(tmp_path: Path) -> None:
    """Orders finished C, A, INVALID, B come out in input-line order; a record from an older
    ledger that does not know its lines comes last; the ledger's own order is untouched."""
    from dataclasses import replace

    old = placed("OLD")
    c, a, b = (replace(placed(n), lines=(line,)) for n, line in (("C", 9), ("A", 2), ("B", 5)))
    rows = csv_rows(tmp_path, c, old, a, invalid("BAD"), b)
    assert [r["order_id"] for r in rows] == ["A", "B", "BAD", "C", "OLD"]
    assert [r["input_line"] for r in rows] == ["2", "5", "7", "9", ""]
    assert [r.order_id for r in read_ledger(tmp_path / "ledger.jsonl")] == ["C", "OLD", "A", "BAD", "B"]


def test_ledger_csv_is_utf8_with_bom_and_crlf_and_keeps_accents(tmp_path: Path) -> None:
    """The file starts with a BOM (Excel then reads UTF-8), rows end in CRLF, accents survive."""
    rows = csv_rows(tmp_path, placed("Müller-1", reason="Ünïcode ✓\nsecond line"))
    raw = (tmp_path / "ledger.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + b"order_id,")
    assert raw.split(b"\r\n")[0].decode("utf-8-sig").split(",") == list(CSV_COLUMNS)
    assert rows[0]["order_id"] == "Müller-1"
    assert rows[0]["reason"] == "Ünïcode ✓\nsecond line"
    assert not list(tmp_path.glob("*.tmp"))


def test_run_stats_round_trip_and_replace_atomically(tmp_path: Path) -> None:
    """write_run_stats then read_run_stats gives the same value, and leaves no temporary file."""
    stats = RunStats(started_at="2026-11-24T22:00:00+00:00", finished_at=None, input_file="o.csv",
                     orders_total=3, strict_requests=7, default_requests=40, rate_limited=1,
                     replacements=1, strict_rps=1.0, throughput=((0.0, 0), (5.5, 3)))
    path = tmp_path / "run_stats.json"
    write_run_stats(path, stats)
    write_run_stats(path, stats)
    assert read_run_stats(path) == stats
    assert [p.name for p in tmp_path.iterdir()] == ["run_stats.json"]


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"started_at": "x"}', b"null"])
def test_unreadable_run_stats_read_as_none(tmp_path: Path, content: bytes) -> None:
    """A missing, empty or foreign run_stats.json means "no statistics", never a crash."""
    path = tmp_path / "run_stats.json"
    assert read_run_stats(path) is None
    path.write_bytes(content)
    assert read_run_stats(path) is None


def test_run_stats_from_a_newer_version_ignore_unknown_keys(tmp_path: Path) -> None:
    """Extra keys written by a newer batch-runner do not make the file unreadable."""
    path = tmp_path / "run_stats.json"
    write_run_stats(path, RunStats(started_at="s", finished_at="f", input_file="i", orders_total=1,
                                   strict_requests=2, default_requests=3, rate_limited=0,
                                   replacements=0, strict_rps=2.0))
    raw = orjson.loads(path.read_bytes())
    path.write_bytes(orjson.dumps({**raw, "new_counter": 5}))
    stats = read_run_stats(path)
    assert stats is not None
    assert stats.strict_rps == 2.0


def test_a_kept_ledger_reads_as_the_file_does_and_follows_its_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small ledger is parsed once and kept: every read gives what the file holds, in ledger
    and in input order, the same as reading a big one from disk; an append, or the file
    replaced by another of the same size, is read again."""
    from dataclasses import replace

    import batch_runner.ledger as ledger_io

    records = [replace(placed(n), lines=(line,)) for n, line in (("C", 9), ("A", 2), ("B", 5))]
    path = write(tmp_path, *records)
    kept = (list(read_ledger(path)), list(ledger_io.read_in_input_order(path)))
    assert list(read_ledger(path)) == kept[0] == records
    monkeypatch.setattr(ledger_io, "CACHE_MAX_BYTES", 0)  # from disk each time
    assert (list(read_ledger(path)), list(ledger_io.read_in_input_order(path))) == kept
    monkeypatch.undo()
    with path.open("ab") as handle:  # another process appending
        handle.write(orjson.dumps(placed("D"), option=orjson.OPT_APPEND_NEWLINE))
    assert [r.order_id for r in read_ledger(path)] == ["C", "A", "B", "D"]
    other = tmp_path / "other.jsonl"
    other.write_bytes(path.read_bytes().replace(b'"D"', b'"E"'))
    os.replace(other, path)
    assert [r.order_id for r in ledger_io.read_in_input_order(path)] == ["A", "B", "C", "E"]
