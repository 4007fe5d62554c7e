"""The report reads the retry file back, even after a person edited it by hand."""

from __future__ import annotations

from pathlib import Path

import orjson

from batch_runner.retry_file import read_retry_file


def test_a_hand_edited_retry_jsonl_is_counted_not_a_crash(tmp_path: Path) -> None:
    """A line left half-edited, and one that is not an object, count as '?': the wrap-up of a
    resumed night must not crash on them. Orders are counted by their new ids."""
    good = {"order_id": "A-1-r1", "previous_order_id": "A-1",
            "items": [{"product_id": "P1", "outcome": "FAILED"}, {"product_id": "P2", "outcome": "FAILED"}]}
    dup = {"order_id": "A-1-r2", "previous_order_id": "A-1", "outcome": "INVALID", "items": []}
    lines = [orjson.dumps(good), orjson.dumps(dup), b'{"order_id": "B-2-r1", "items": [', b"[1, 2]"]
    (tmp_path / "retry.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    found = read_retry_file(tmp_path)
    assert found is not None
    assert (found.orders, found.items) == (4, 5)
    assert dict(found.outcomes) == {"FAILED": 2, "INVALID": 1, "?": 2}


def test_a_retry_csv_counts_orders_by_their_new_ids(tmp_path: Path) -> None:
    """Two blocks of one repeated order id get two new ids: two orders, as the run's summary says."""
    (tmp_path / "retry.csv").write_text(
        "order_id,product_id,previous_order_id,outcome,reason_code,reason\n"
        "A-1-r1,P1,A-1,FAILED,X,x\nA-1-r1,P2,A-1,FAILED,X,x\nA-1-r2,P3,A-1,INVALID,INVALID,y\n",
        encoding="utf-8")
    found = read_retry_file(tmp_path)
    assert found is not None
    assert (found.orders, found.items) == (2, 3)
