"""The summary a run prints on stdout, whose first line works as a mail subject.

cron mails a job's stdout with the first line as good as a subject: it must say, alone, whether
the night finished, how much was placed, how much needs a person and the exit status, e.g.
`batch-runner: 9,812 PLACED, 23 need a person, exit 1`. A run that stopped early says so before
anything else, with how many orders are unfinished, where they stopped, and the command that
finishes them. Pure: values in, lines out; cli.py prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from batch_runner.core.model import OrderStatus
from batch_runner.core.unfinished import LABELS, Unfinished, UnfinishedOrder

if TYPE_CHECKING:
    from batch_runner.retry_file import RetryFile

#: Unfinished orders named on stdout (a mail); the report lists more.
STDOUT_LIST = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """How a run stopped early, in words: core.stop.StopReason's kind and message."""

    kind: str
    message: str


def n(value: int) -> str:
    """A count as a person reads it: 9,812."""
    return f"{value:,}"


def need_a_person(counts: Mapping[OrderStatus, int]) -> int:
    return sum(v for status, v in counts.items() if status is not OrderStatus.PLACED)


def headline(counts: Mapping[OrderStatus, int], unfinished: Unfinished | None,
             stop: Stop | None) -> str:
    """The run in one phrase: `18 PLACED, 7 need a person`, led by the early stop if any."""
    placed = counts.get(OrderStatus.PLACED, 0)
    todo = need_a_person(counts)
    stopped = stop is not None or unfinished is not None
    # "nothing to do" only for a finished run: a stopped one still has its unfinished orders.
    parts = [f"{n(placed)} PLACED", f"{n(todo)} need a person" if todo or stopped else "nothing to do"]
    if not stopped:
        return ", ".join(parts)
    kind = f" ({stop.kind.replace('_', ' ')})" if stop else ""
    if unfinished is not None and unfinished.input_read:
        total = sum(counts.values()) + unfinished.count
        left = f"{n(unfinished.count)} of {n(total)} orders unfinished"
    elif unfinished is not None and unfinished.count:
        left = f"at least {n(unfinished.count)} orders unfinished"
    else:
        left = "orders unfinished"
    return ", ".join([f"STOPPED EARLY{kind}: {left}", *parts])


def subject(counts: Mapping[OrderStatus, int], *, exit_code: int,
            unfinished: Unfinished | None = None, stop: Stop | None = None) -> str:
    """The first line of stdout: `batch-runner: 9,812 PLACED, 23 need a person, exit 1`."""
    return f"batch-runner: {headline(counts, unfinished, stop)}, exit {exit_code}"


def where_text(order: UnfinishedOrder) -> str:
    """`submitted, waiting for Rye's answer · cart abc (replacement 1)` for one unfinished order."""
    text = LABELS[order.point]
    if order.generation is not None and order.cart_id:
        gen = f" (replacement {order.generation})" if order.generation else ""
        text += f" · cart {order.cart_id}{gen}"
    return text


def points_text(unfinished: Unfinished) -> str:
    """`submitted, waiting for Rye's answer: 2; not started: 8`, most urgent first."""
    return "; ".join(f"{LABELS[p]}: {n(v)}" for p, v in unfinished.by_point.items())


def unfinished_lines(unfinished: Unfinished, resume_command: str, *, limit: int = STDOUT_LIST) -> list[str]:
    """The unfinished orders, where each stopped, and the command that finishes them."""
    lines = [(f"{n(unfinished.count)} order{'s' if unfinished.count != 1 else ''} unfinished, "
             f"by where they stopped: {points_text(unfinished) or 'none'}")]
    if unfinished.note:
        lines.append(f"  ({unfinished.note})")
    for order in unfinished.listed[:limit]:
        at = f" (input line {order.line})" if order.line else ""
        lines.append(f"  {order.order_id or '(no order id)'}{at}: {where_text(order)}")
    if unfinished.count > limit and unfinished.listed:
        lines.append(f"  ... and {n(unfinished.count - min(limit, len(unfinished.listed)))} more "
                     "(report.md lists them)")
    lines += ["To finish them, run the same command again (nothing finished is sent twice):",
              f"  {resume_command}"]
    return lines


def run_summary(counts: Mapping[OrderStatus, int], *, exit_code: int, out_dir: Path,
                report_md: Path, report_html: Path, resume_command: str,
                unfinished: Unfinished | None = None, stop: Stop | None = None,
                retry: RetryFile | None = None) -> list[str]:
    """Every line of the summary, the subject first."""
    lines = [subject(counts, exit_code=exit_code, unfinished=unfinished, stop=stop), ""]
    if stop is not None:
        lines.append(f"Stopped early: {stop.message.rstrip('.')}.")
    if unfinished is not None:
        lines += [*unfinished_lines(unfinished, resume_command), ""]
    parts = ", ".join(f"{n(counts[s])} {s.value}" for s in OrderStatus if counts.get(s))
    lines += [f"{n(sum(counts.values()))} orders in the ledger: {parts or 'none'}",
              f"  ledger: {out_dir / 'ledger.jsonl'}, ledger.csv and ledger.xlsx"]
    if retry is not None:
        lines.append(f"  retry:  {retry.path}: {retry.summary()}")
        if retry.left_out:
            lines.append(f"          {len(retry.left_out)} item(s) could not be put in it: "
                         f"`batch-runner retry-file {out_dir}` names them")
    lines += [f"  report: {report_md}", f"          {report_html}"]
    return lines


def already_finished_line(orders: int) -> str:
    """The one line a rerun of a finished job prints."""
    return f"already finished: {n(orders)} orders in the ledger, nothing sent"
