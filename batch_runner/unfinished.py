"""The orders a run left unfinished, read from --out and the input; and whether none are left.

An order is unfinished while the input holds it and the ledger does not. The journal says how
far each got (core/unfinished.py). Everything here only reads: the journal, the ledger and the
input are left as they are, so the report can be rendered while nothing runs, or again later.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson

from batch_runner.core.model import InvalidOrder, Order, OrderStatus
from batch_runner.core.unfinished import (
    CartFacts,
    StopPoint,
    Unfinished,
    UnfinishedOrder,
    stop_point,
    tally,
)
from batch_runner.errors import BatchRunnerError
from batch_runner.journal import JOURNAL_NAME, OrderState, file_sha256, read_states
from batch_runner.ledger import (
    LEDGER_NAME,
    RUN_STATS_NAME,
    ledger_key,
    read_ledger,
    read_run_stats,
    write_run_stats,
)
from batch_runner.load import iter_orders

#: Unfinished orders named one by one in the report; the rest are counted.
LIST_LIMIT = 500


def _facts(state: OrderState) -> list[CartFacts]:
    return [CartFacts(generation=c.generation, cart_id=c.cart_id, submits=c.submits,
                      decided=c.done is not None, replacing=bool(c.done and c.done.get("replace")))
            for c in state.carts.values()]


def _in_flight(order_id: str | None, line: int | None, state: OrderState | None) -> UnfinishedOrder:
    facts = _facts(state) if state else []
    latest = max(facts, key=lambda c: c.generation, default=None)
    return UnfinishedOrder(order_id=order_id, line=line, point=stop_point(facts),
                           generation=latest.generation if latest else None,
                           cart_id=latest.cart_id if latest else None)


def _key(entry: Order | InvalidOrder) -> tuple[str, str | None]:
    """The ledger_key the runner gives this input entry's ledger line."""
    if isinstance(entry, InvalidOrder):
        return ("invalid", str(entry.line))
    return ("order", entry.order_id)


def _input_problem(input_path: Path | None, digest: str | None, *, check: bool) -> str | None:
    """Why the input cannot be trusted to list the unfinished orders, or None."""
    if input_path is None:
        return "the journal names no input file"
    if not input_path.is_file():
        return f"the input file {input_path} is not there to read"
    if check and digest is not None and file_sha256(input_path) != digest:
        return f"the input file {input_path} changed since the run"
    return None


def run_input(out_dir: Path) -> Path | None:
    """The input file of the run in `out_dir`, from the journal's first line, if it is still
    there unchanged (same sha256 as when the run started); else None."""
    try:
        with (out_dir / JOURNAL_NAME).open("rb") as handle:
            header = orjson.loads(handle.readline())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("input"), str):
        return None
    path = Path(header["input"])
    return path if _input_problem(path, header.get("sha256"), check=True) is None else None


def scan(out_dir: Path, input_path: Path | None = None, *, limit: int = LIST_LIMIT) -> Unfinished:
    """The unfinished orders of the run in `out_dir`.

    `input_path` is the input the caller has just checked against the journal; without it the
    journal's own record of the input is used, after checking that the file has not changed.
    When the input cannot be read, only the orders the journal knows are counted.
    """
    done = {ledger_key(r) for r in read_ledger(out_dir / LEDGER_NAME)}
    journal = out_dir / JOURNAL_NAME
    named, digest, states = read_states(journal) if journal.exists() else (None, None, {})
    problem = _input_problem(input_path or (Path(named) if named else None), digest,
                             check=input_path is None)
    if problem is not None:
        orders = [_in_flight(o, None, s) for o, s in states.items() if ("order", o) not in done]
        return tally(orders, count=len(orders), input_read=False, limit=limit,
                     note=f"{problem}: orders never started are not counted")
    path = input_path or Path(str(named))
    orders, count = [], 0
    try:
        for entry in iter_orders(path):
            if _key(entry) in done:
                continue
            count += 1
            state = None if isinstance(entry, InvalidOrder) else states.get(entry.order_id)
            if (state is not None and state.carts) or len(orders) < limit:
                orders.append(_in_flight(entry.order_id, entry.line or None, state))
    except BatchRunnerError as exc:  # the input became unusable: count what the journal knows
        orders = [_in_flight(o, None, s) for o, s in states.items() if ("order", o) not in done]
        return tally(orders, count=len(orders), input_read=False, limit=limit, note=str(exc))
    return tally(orders, count=count, input_read=True, limit=limit)


def already_finished(out_dir: Path, input_path: Path) -> dict[OrderStatus, int] | None:
    """The ledger's counts by status when every order of the input has its ledger line, else None.

    Stops at the first input entry without one. A run whose run_stats.json says it finished is
    taken at its word without reading the input (nothing can be missing after it)."""
    counts: dict[OrderStatus, int] = {}
    done: set[tuple[str, str]] = set()
    for record in read_ledger(out_dir / LEDGER_NAME):
        counts[record.status] = counts.get(record.status, 0) + 1
        done.add(ledger_key(record))
    if not counts:
        return None
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    if stats is not None and stats.finished_at and not stats.interrupted:
        return counts
    if any(_key(entry) not in done for entry in iter_orders(input_path)):
        return None
    return counts


def record_in_stats(out_dir: Path, unfinished: Unfinished | None, resume_command: str, *,
                    finished: bool) -> None:
    """Add the unfinished counts and the resume command to run_stats.json (after the runner).

    `finished`: every order is final, though the run may have been asked to stop."""
    path = out_dir / RUN_STATS_NAME
    stats = read_run_stats(path)
    if stats is None:
        return
    if finished:
        stats = replace(stats, interrupted=False, stop_kind=None, stop_reason=None)
    counted = unfinished is not None and unfinished.input_read
    write_run_stats(path, replace(
        stats, unfinished=unfinished.count if counted and unfinished else None,
        unfinished_by_point={str(p): n for p, n in unfinished.by_point.items()} if unfinished else {},
        resume_command=None if finished else resume_command,
    ))


__all__ = ["LIST_LIMIT", "StopPoint", "Unfinished", "already_finished", "record_in_stats", "scan"]
