"""The stdout summary: its first line works as a mail subject; a rerun of a finished job is one line."""

from __future__ import annotations

from pathlib import Path

from batch_runner.core.model import OrderStatus
from batch_runner.core.unfinished import StopPoint, UnfinishedOrder, tally
from batch_runner.summary import Stop, already_finished_line, run_summary, subject

S = OrderStatus


def test_subject_of_a_finished_night_counts_placed_and_what_needs_a_person() -> None:
    """`batch-runner: 9,812 PLACED, 23 need a person, exit 1`: thousands separated, exit last."""
    counts = {S.PLACED: 9812, S.FAILED: 20, S.NEEDS_ATTENTION: 2, S.INVALID: 1}
    assert subject(counts, exit_code=1) == "batch-runner: 9,812 PLACED, 23 need a person, exit 1"


def test_subject_of_an_all_placed_night_says_nothing_to_do() -> None:
    """A clean night reads as one at a glance."""
    assert subject({S.PLACED: 25}, exit_code=0) == "batch-runner: 25 PLACED, nothing to do, exit 0"


def test_subject_of_a_stopped_run_leads_with_the_stop_and_the_unfinished_count() -> None:
    """The early stop comes first, with how many of all the orders are unfinished."""
    orders = [UnfinishedOrder(order_id="A-2", line=3, point=StopPoint.SUBMITTED, generation=0,
                              cart_id="cart_1")]
    unfinished = tally(orders, count=1_200, input_read=True, limit=10)
    line = subject({S.PLACED: 8, S.FAILED: 2}, exit_code=3, unfinished=unfinished,
                   stop=Stop(kind="deadline", message="deadline 06:00 reached"))
    assert line == ("batch-runner: STOPPED EARLY (deadline): 1,200 of 1,210 orders unfinished, "
                    "8 PLACED, 2 need a person, exit 3")


def test_a_run_stopped_before_anything_finished_never_says_nothing_to_do() -> None:
    """Zero in the ledger and everything unfinished is not a quiet night."""
    unfinished = tally([], count=25, input_read=True, limit=10)
    line = subject({}, exit_code=3, unfinished=unfinished, stop=Stop(kind="outage", message="API away"))
    assert line == ("batch-runner: STOPPED EARLY (outage): 25 of 25 orders unfinished, 0 PLACED, "
                    "0 need a person, exit 3")


def test_the_summary_lists_where_unfinished_orders_stopped_and_how_to_resume() -> None:
    """After the subject: the reason, the counts by stop point, the orders, the same command."""
    orders = [UnfinishedOrder(order_id=f"N-{i}", line=i + 1, point=StopPoint.NOT_STARTED)
              for i in range(12)]
    orders.insert(0, UnfinishedOrder(order_id="W-1", line=40, point=StopPoint.CART_CREATED,
                                     generation=1, cart_id="cart_w"))
    unfinished = tally(orders, count=13, input_read=True, limit=500)
    lines = run_summary({S.PLACED: 3}, exit_code=3, out_dir=Path("runs/x"),
                        report_md=Path("runs/x/report.md"), report_html=Path("runs/x/report.html"),
                        resume_command="batch-runner run in.csv --out runs/x",
                        unfinished=unfinished, stop=Stop(kind="interrupted", message="interrupted by a signal"))
    text = "\n".join(lines)
    assert lines[0].startswith("batch-runner: STOPPED EARLY (interrupted): 13 of 16 orders unfinished")
    assert "Stopped early: interrupted by a signal." in text
    assert ("13 orders unfinished, by where they stopped: cart created, not submitted: 1; "
            "not started: 12") in text
    assert "  W-1 (input line 40): cart created, not submitted · cart cart_w (replacement 1)" in text
    assert "... and 3 more (report.md lists them)" in text
    assert "  batch-runner run in.csv --out runs/x" in text


def test_a_rerun_of_a_finished_job_is_one_line() -> None:
    """The exact line the issue asks for."""
    assert already_finished_line(25) == "already finished: 25 orders in the ledger, nothing sent"
