"""What both reports say, whichever their format: the headline, the title, the run's facts, the
action groups and what a person does about each. Pure: records and stats in, text out.
report.py renders it as Markdown (and writes both files), report_html.py as HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from batch_runner.buyers import Buyer, BuyerKey
from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.core.rollup import Action, Summary
from batch_runner.core.unfinished import Unfinished
from batch_runner.ledger import RunStats
from batch_runner.summary import Stop
from batch_runner.summary import headline as run_headline

#: What the person does about each kind of action, as the heading of its group.
TODO: dict[ItemOutcome, str] = {
    ItemOutcome.STUCK: "contact Rye support with the cart id; do not resubmit or order again",
    ItemOutcome.ACTION_REQUIRED: "send the buyer the 3-D Secure link; Rye goes on once it is done",
    ItemOutcome.NEEDS_REVIEW: "look the order up with Rye before retrying anything: it may be placed",
    ItemOutcome.FAILED: "not placed: fix the cause, then order these items again in a new file",
    ItemOutcome.INVALID: "never sent: fix the input line, then run it in a new file",
}
COLOURS: dict[str, str] = {
    "PLACED": "#2e7d32", "PARTIAL": "#0277bd", "NEEDS_ATTENTION": "#ef6c00",
    "FAILED": "#c62828", "STUCK": "#6a1b9a", "ACTION_REQUIRED": "#ef6c00",
    "NEEDS_REVIEW": "#b28704", "INVALID": "#546e7a",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    started: datetime | None
    finished: datetime | None
    state: str  #: finished / interrupted / still running


def _when(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def timing(summary: Summary, stats: RunStats | None) -> Timing:
    """Start and end of the run: from run_stats.json when there is one, else the ledger's span."""
    if stats is None:  # written when a run ends: a run killed before it may not have ended
        return Timing(started=_when(summary.first_started_at),
                      finished=_when(summary.last_finished_at),
                      state="unknown (no run_stats.json: the run may not have ended)")
    kind = (stats.stop_kind or "interrupted").replace("_", " ")
    stopped = f"stopped early ({kind}: {stats.stop_reason})" if stats.stop_reason else "interrupted"
    state = (f"{stopped}: rerun the same command to resume" if stats.interrupted
             else "finished" if stats.finished_at else "still running (or killed)")
    return Timing(started=_when(stats.started_at),
                  finished=_when(stats.finished_at or summary.last_finished_at), state=state)


def duration_text(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"


def facts(summary: Summary, stats: RunStats | None) -> list[tuple[str, str]]:
    """The run's numbers as (label, value) rows: timings, requests per tier, 429s, replacements."""
    t = timing(summary, stats)
    span = (t.finished - t.started).total_seconds() if t.started and t.finished else None
    rows = [("started", _clock(t.started)), ("ended", _clock(t.finished)),
            ("duration", duration_text(span) + (", start to end" if stats and stats.runs > 1 else "")
             if span is not None else "unknown"),
            ("state", t.state)]
    if stats is None:
        return [*rows, ("requests", "unknown: run_stats.json is missing")]
    if stats.active_s is not None:
        runs = f" in {stats.runs} runs (the chart's time axis)" if stats.runs > 1 else ""
        rows.insert(3, ("running time", duration_text(stats.active_s) + runs))
    busy = stats.active_s or span
    rate = f" ({stats.strict_requests / busy:.2f}/s" if busy else " ("
    return [
        ("input", stats.input_file), *rows,
        ("Strict tier requests", f"{stats.strict_requests}{rate} of {stats.strict_rps:g}/s allowed)"),
        ("Default tier requests", str(stats.default_requests)),
        ("429 answers", str(stats.rate_limited)),
        ("replacement carts", str(stats.replacements)),
        *([("live schema", schema_line(stats))] if stats.schema_check else []),
    ]


def schema_line(stats: RunStats) -> str:
    """The live-schema check in one line: checked (with the schema's hash) or unavailable (why)."""
    if stats.schema_check == "checked":
        return f"checked before the first order; schema sha256 {stats.schema_sha256}"
    return f"{stats.schema_check}, documents not checked: {stats.schema_note or 'no reason given'}"


def headline(summary: Summary, *, stopped: bool) -> tuple[str, str]:
    """Two sentences: the orders by status, and how many need a person. `stopped`: the run
    stopped early, so "every order was placed" would hide its unfinished orders."""
    parts = [f"{summary.by_status[s]} {s.value}" for s in OrderStatus if summary.by_status[s]]
    counts = f"{summary.orders} orders: {', '.join(parts)}." if parts else "The ledger is empty."
    n = summary.orders_to_act_on
    todo = (nothing_to_do(stopped=stopped) if n == 0 else
            f"{n} order{'s' if n != 1 else ''} need{'s' if n == 1 else ''} a person (below, worst first).")
    return counts, todo


def nothing_to_do(*, stopped: bool) -> str:
    """What the action list says when it is empty."""
    if stopped:
        return "No finished order needs a person yet; the run stopped early: see \"Stopped early\"."
    return "Nothing to do: every order was placed."


def groups(actions: Iterable[Action]) -> dict[ItemOutcome, list[Action]]:
    groups: dict[ItemOutcome, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.outcome, []).append(action)
    return groups


def buyer_of(a: Action, buyers: Mapping[BuyerKey, Buyer] | None) -> Buyer | None:
    if buyers is None:
        return None
    key: BuyerKey | None = a.line if a.outcome is ItemOutcome.INVALID else a.order_id
    return buyers.get(key) if key is not None else None


def part_of(a: Action) -> str | None:
    """`part of a PARTIAL order: its other item was placed`, when the order is not only this."""
    if not a.placed_items or a.order_status is None:
        return None
    other = "its other item was" if a.placed_items == 1 else f"its {a.placed_items} other items were"
    return f"part of a {a.order_status.value} order: {other} placed"


def title(s: Summary, stop: Stop | None, unfinished: Unfinished | None) -> str:
    """The report's first line: `batch-runner report: STOPPED EARLY (...): 11 of 25 orders
    unfinished, 8 PLACED, 6 need a person`, or without the stop for a finished run."""
    shown = unfinished if stop is not None else None
    return f"batch-runner report: {run_headline(s.by_status, shown, stop)}"


def group_note(group: list[Action]) -> str:
    """How many orders a group holds, by order status: `2 FAILED orders, 1 PARTIAL order`."""
    by_status: dict[str, int] = {}
    for a in group:
        status = a.order_status.value if a.order_status else "?"
        by_status[status] = by_status.get(status, 0) + 1
    return ", ".join(f"{v} {k} order{'s' if v != 1 else ''}" for k, v in by_status.items())


def subtitle(summary: Summary, stats: RunStats | None) -> str:
    """One line under the title: input file, when, how long, and whether the run finished."""
    t = timing(summary, stats)
    parts = [Path(stats.input_file).name if stats else ""]
    if t.started:
        start = t.started.astimezone(UTC)
        end = t.finished.astimezone(UTC) if t.finished else None
        end_text = "?" if end is None else end.strftime(
            "%H:%M UTC" if end.date() == start.date() else "%Y-%m-%d %H:%M UTC")
        parts.append(f"{start:%Y-%m-%d %H:%M} \u2192 {end_text}")
        if end is not None:
            parts.append(duration_text((end - start).total_seconds()))
    parts.append(t.state)
    return " \u00b7 ".join(p for p in parts if p)
