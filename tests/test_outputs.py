"""ledger.csv is spreadsheet-safe; report.md/report.html say what happened and what to do."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

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
from batch_runner.core.rollup import RULES, order_status
from batch_runner.ledger import LedgerWriter, read_ledger, safe_cell, write_ledger_csv
from batch_runner.report import render_markdown, write_reports
from batch_runner.report_html import render_html

VOID = {"meta", "br", "img", "hr", "input", "link"}


def item(outcome: ItemOutcome, pid: str = "B1", **extra: str) -> ItemResult:
    return ItemResult(marketplace=Marketplace.AMAZON, product_id=pid, quantity=1, outcome=outcome,
                      cart_id="CART1", **extra)


def records() -> list[LedgerRecord]:
    return [
        LedgerRecord(order_id="ok", status=OrderStatus.PLACED, items=(item(ItemOutcome.PLACED),),
                     carts=(CartRecord(cart_id="CART1", generation=0, submitted=True),)),
        LedgerRecord(order_id="<script>alert(1)</script>", status=OrderStatus.NEEDS_ATTENTION,
                     items=(item(ItemOutcome.STUCK, rye_order_id="R1", reason_code="STUCK"),)),
        LedgerRecord(order_id="3ds", status=OrderStatus.NEEDS_ATTENTION,
                     items=(item(ItemOutcome.ACTION_REQUIRED, redirect_url="https://pay.example/3ds/x"),)),
        LedgerRecord(order_id="=HYPERLINK(\"http://evil\")", status=OrderStatus.FAILED,
                     items=(item(ItemOutcome.FAILED, reason_code="PAYMENT_FAILED", reason="+1 declined"),)),
        LedgerRecord(order_id="bad", status=OrderStatus.INVALID, items=(),
                     invalid=InvalidInfo(file="in.csv", line=7, field="quantity", message="got 'two'")),
    ]


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_dangerous_first_characters_are_neutralised(first: str) -> None:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    assert safe_cell(f"{first}SUM(A1)") == f"'{first}SUM(A1)"
    assert safe_cell("plain") == "plain"


def test_ledger_csv_has_one_row_per_item_and_is_formula_safe(tmp_path: Path) -> None:
    """Every item is a row, INVALID orders without items still get one, and no cell is a formula."""
    with LedgerWriter(tmp_path) as writer:
        for record in records():
            writer.write(record)
    write_ledger_csv(tmp_path / "ledger.jsonl", tmp_path / "ledger.csv")
    with (tmp_path / "ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    assert [r["invalid_line"] for r in rows if r["order_status"] == "INVALID"] == ["7"]


def test_a_torn_last_ledger_line_is_skipped(tmp_path: Path) -> None:
    """A ledger whose last line was cut by a crash reads as the whole lines before it."""
    with LedgerWriter(tmp_path) as writer:
        writer.write(records()[0])
    with (tmp_path / "ledger.jsonl").open("ab") as handle:
        handle.write(b'{"order_id": "half')
    assert [r.order_id for r in read_ledger(tmp_path / "ledger.jsonl")] == ["ok"]


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.scripts = 0
        self.external = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "img") or (tag == "script" and dict(attrs).get("src")):
            self.external += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an opening tag"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong element"


def test_html_report_is_well_formed_self_contained_and_escaped() -> None:
    """Tags balance, there are no scripts or external resources, and user text is escaped."""
    page = render_html(records(), None)
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    assert checker.scripts == 0
    assert checker.external == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_action_list_holds_every_order_that_needs_a_person_worst_first() -> None:
    """STUCK first, then ACTION_REQUIRED with its URL, FAILED, INVALID; placed orders are absent."""
    text = render_markdown(records(), None)
    actions = text.split("## What a person must do", 1)[1]
    positions = [actions.index(s) for s in ("**STUCK**", "**ACTION_REQUIRED**", "**FAILED**", "**INVALID**")]
    assert positions == sorted(positions)
    assert "https://pay.example/3ds/x" in actions
    assert "`ok`" not in actions
    page = render_html(records(), None)
    for order_id in ("3ds", "bad", "&lt;script&gt;"):
        assert order_id in page


def test_reports_render_again_from_a_finished_run(tmp_path: Path) -> None:
    """write_reports reads the ledger and writes report.md, report.html and ledger.csv."""
    with LedgerWriter(tmp_path) as writer:
        for record in records():
            writer.write(record)
    md, page = write_reports(tmp_path)
    assert "## Orders: 5" in md.read_text()
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "ledger.csv").exists()


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([ItemOutcome.INVALID], OrderStatus.INVALID),
        ([ItemOutcome.PLACED, ItemOutcome.PLACED], OrderStatus.PLACED),
        ([ItemOutcome.PLACED, ItemOutcome.STUCK], OrderStatus.NEEDS_ATTENTION),
        ([ItemOutcome.FAILED, ItemOutcome.ACTION_REQUIRED], OrderStatus.NEEDS_ATTENTION),
        ([ItemOutcome.NEEDS_REVIEW], OrderStatus.NEEDS_ATTENTION),
        ([ItemOutcome.PLACED, ItemOutcome.FAILED], OrderStatus.PARTIAL),
        ([ItemOutcome.FAILED], OrderStatus.FAILED),
    ],
)
def test_rollup_follows_the_spec(outcomes: list[ItemOutcome], status: OrderStatus) -> None:
    """An order's status follows the SPEC's rollup, one row per rule."""
    assert order_status(outcomes) is status
    assert status in {s for _, s in RULES}
