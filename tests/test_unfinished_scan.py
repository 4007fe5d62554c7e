"""Which orders a stopped run left, read from --out's journal and ledger and from the input."""

from __future__ import annotations

from pathlib import Path

from batch_runner.core.model import (
    CartRecord,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.core.unfinished import StopPoint
from batch_runner.journal import JOURNAL_NAME, Journal
from batch_runner.ledger import LedgerWriter
from batch_runner.unfinished import already_finished, scan
from tests.pipeline.conftest import order, write_jsonl

P = StopPoint


def _night(tmp_path: Path) -> tuple[Path, Path]:
    """Four orders: A-1 submitted, B-2 with a cart created, C-3 finished, D-4 never started."""
    source = write_jsonl(tmp_path / "in.jsonl", [order(f"{c}-{n}", ("AMAZON", f"B0{c}"))
                                                   for n, c in enumerate("ABCD", start=1)])
    out = tmp_path / "out"
    out.mkdir()
    with Journal.open(out, source) as journal:
        for oid in ("A-1", "B-2", "C-3"):
            journal.append({"t": "create", "o": oid, "g": 0, "idx": [0], "ts": 1.0})
            journal.append({"t": "created", "o": oid, "g": 0, "cart": f"cart_{oid}", "failed": []})
        for oid in ("A-1", "C-3"):
            journal.append({"t": "submit", "o": oid, "g": 0, "cart": f"cart_{oid}", "ts": 2.0})
    item = ItemResult(marketplace=Marketplace.AMAZON, product_id="B0C", quantity=1,
                      outcome=ItemOutcome.PLACED, cart_id="cart_C-3")
    with LedgerWriter(out) as writer:
        writer.write(LedgerRecord(order_id="C-3", status=OrderStatus.PLACED, items=(item,),
                                  carts=(CartRecord(cart_id="cart_C-3", generation=0, submitted=True),)))
    return source, out


def test_scan_names_where_each_unfinished_order_stopped(tmp_path: Path) -> None:
    """Submitted, cart created, not started; the finished one is left out; nothing is written."""
    source, out = _night(tmp_path)
    before = (out / JOURNAL_NAME).read_bytes()
    result = scan(out)
    assert result.input_read
    assert result.count == 3
    assert [(o.order_id, o.point, o.cart_id, o.line) for o in result.listed] == [
        ("A-1", P.SUBMITTED, "cart_A-1", 1), ("B-2", P.CART_CREATED, "cart_B-2", 2),
        ("D-4", P.NOT_STARTED, None, 4)]
    assert (out / JOURNAL_NAME).read_bytes() == before
    assert already_finished(out, source) is None


def test_without_the_input_only_the_journal_is_counted_and_the_reader_told_why(tmp_path: Path) -> None:
    """An input changed or gone since the run: the orders in flight are still listed, with a note."""
    source, out = _night(tmp_path)
    source.write_bytes(source.read_bytes() + b"\n")
    changed = scan(out)
    assert not changed.input_read
    assert changed.count == 2
    assert changed.note is not None
    assert "changed since the run" in changed.note
    source.unlink()
    gone = scan(out)
    assert gone.by_point == {P.SUBMITTED: 1, P.CART_CREATED: 1}
    assert gone.note is not None
    assert "is not there" in gone.note
