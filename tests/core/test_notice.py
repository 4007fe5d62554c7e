"""core/notice.py: the notice's subject line, its text for chat, and which ping a run gets."""

from __future__ import annotations

import pytest

from batch_runner.core.model import ItemOutcome, ItemResult, LedgerRecord, Marketplace, OrderStatus
from batch_runner.core.notice import (
    EXIT_MEANING,
    FIRST_ACTIONS,
    Ending,
    notice,
    ping_suffix,
    subject,
)
from batch_runner.core.rollup import summarize


def _record(order_id: str, outcome: ItemOutcome, reason: str | None = None) -> LedgerRecord:
    item = ItemResult(marketplace=Marketplace.AMAZON, product_id="B0X", quantity=1,
                      outcome=outcome, reason_code=outcome.value if reason else None,
                      reason=reason, cart_id=f"cart-{order_id}")
    status = OrderStatus.PLACED if outcome is ItemOutcome.PLACED else (
        OrderStatus.FAILED if outcome is ItemOutcome.FAILED else OrderStatus.NEEDS_ATTENTION)
    return LedgerRecord(order_id=order_id, status=status, items=(item,))


@pytest.mark.parametrize(("code", "crashed", "suffix"), [
    (0, False, ""), (1, False, ""), (2, False, "/fail"), (3, False, "/fail"), (1, True, "/fail"),
])
def test_healthchecks_convention(code: int, crashed: bool, suffix: str) -> None:
    assert ping_suffix(Ending(exit_code=code, crashed=crashed)) == suffix


def test_every_exit_status_has_a_meaning() -> None:
    assert sorted(EXIT_MEANING) == [0, 1, 2, 3]


def test_the_subject_counts_with_thousands_separators() -> None:
    records = [_record(f"P-{n}", ItemOutcome.PLACED) for n in range(1234)]
    records += [_record("S-1", ItemOutcome.STUCK, "stuck"), _record("F-1", ItemOutcome.FAILED, "x")]
    assert subject(summarize(records), Ending(exit_code=1)) == (
        "batch-runner: 1,234 PLACED, 2 need a person, exit 1")


def test_a_stop_and_a_crash_are_named_first() -> None:
    s = summarize([_record("P-1", ItemOutcome.PLACED)])
    assert subject(s, Ending(exit_code=3, stop_kind="deadline", stop_reason="06:00")) == (
        "batch-runner: stopped (deadline), 1 PLACED, exit 3")
    assert subject(None, Ending(exit_code=1, crashed=True, stop_kind="crash")) == (
        "batch-runner: crashed, nothing in the ledger, exit 1")
    assert subject(summarize([]), Ending(exit_code=0)) == "batch-runner: no orders, exit 0"


def test_the_text_lists_the_worst_actions_first_and_escapes_chat_markup() -> None:
    records = [_record(f"F-{n}", ItemOutcome.FAILED, "Payment <declined> & more") for n in range(6)]
    records.append(_record("S-9", ItemOutcome.STUCK, "stuck"))
    payload = notice(summarize(records), Ending(exit_code=1), todo={ItemOutcome.STUCK: "call Rye"},
                     report="/runs/x/report.html", out_dir="/runs/x", input_file="in.csv")
    lines = str(payload["text"]).splitlines()
    bullets = [line for line in lines if line.startswith("\u2022")]
    assert len(bullets) == FIRST_ACTIONS
    assert bullets[0].startswith("\u2022 STUCK S-9 \u00b7 cart cart-S-9")
    assert bullets[0].endswith("\u2192 call Rye")
    assert "Payment &lt;declined&gt; &amp; more" in bullets[1]
    assert lines[-1] == "Report: /runs/x/report.html"
    assert payload["actions_total"] == 7
    assert len(payload["actions"]) == FIRST_ACTIONS
    assert payload["counts"] == {"PLACED": 0, "NEEDS_ATTENTION": 1, "PARTIAL": 0, "FAILED": 6,
                                 "INVALID": 0}


def test_long_reasons_are_cut() -> None:
    s = summarize([_record("F-1", ItemOutcome.FAILED, "x" * 5000)])
    payload = notice(s, Ending(exit_code=1), todo={}, report=None, out_dir=None, input_file=None)
    assert len(str(payload["text"])) < 600
