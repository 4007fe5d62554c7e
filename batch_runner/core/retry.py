"""Which line items go into the retry file, and the order ids they are sent again under.

Pure: ledger records in, decisions out. retry_file.py reads the input back and writes the file.
An item is resent only when it is known not to be placed (FAILED, INVALID) unless a person asks
for more; PLACED never is, whatever is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus

#: Known not to be placed: a person fixes the cause and sends them again.
DEFAULT_OUTCOMES = frozenset({ItemOutcome.FAILED, ItemOutcome.INVALID})
#: May have been placed (or may still be): only on request, and with a warning.
MAYBE_PLACED = frozenset({ItemOutcome.STUCK, ItemOutcome.NEEDS_REVIEW, ItemOutcome.ACTION_REQUIRED})
#: What a person may ask for on top of the default; PLACED is never resent.
INCLUDABLE = DEFAULT_OUTCOMES | MAYBE_PLACED
#: A retry file's own suffix on an order id: "A-17-r1".
_RETRY_SUFFIX = re.compile(r"^(?P<base>.+)-r(?P<n>[1-9][0-9]{0,5})$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resend:
    """One input line (or one item of a JSONL line) to write into the retry file."""

    line: int  #: 1-based input line the row starts on (JSONL: the order's line)
    item_index: int | None  #: the item's index in the order (JSONL); None: the whole row or line
    order_id: str | None  #: the order's id in the input; None when it had none
    #: The order's first input line: with order_id, which order this is (a DUPLICATE_ORDER_ID
    #: block shares its id with an earlier order, and must not share its new id)
    order_line: int
    outcome: ItemOutcome
    reason_code: str | None
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unlocated:
    """Items the retry file cannot hold: the ledger does not know their input line."""

    order_id: str | None
    outcomes: tuple[ItemOutcome, ...]


def resends(record: LedgerRecord, include: frozenset[ItemOutcome]) -> Iterator[Resend | Unlocated]:
    """The resends one ledger record calls for, given the outcomes to include."""
    wanted = include - {ItemOutcome.PLACED}
    if record.status is OrderStatus.INVALID:
        if ItemOutcome.INVALID not in wanted:
            return
        if not record.lines:
            yield Unlocated(order_id=record.order_id, outcomes=(ItemOutcome.INVALID,))
            return
        reason = _invalid_reason(record)
        for line in record.lines:
            yield Resend(line=line, item_index=None, order_id=record.order_id,
                         order_line=min(record.lines),
                         outcome=ItemOutcome.INVALID, reason_code="INVALID", reason=reason)
        return
    picked = [(n, i) for n, i in enumerate(record.items) if i.outcome in wanted]
    if picked and len(record.lines) != len(record.items):
        yield Unlocated(order_id=record.order_id, outcomes=tuple(i.outcome for _, i in picked))
        return
    for n, item in picked:
        yield Resend(line=record.lines[n], item_index=n, order_id=record.order_id,
                     order_line=min(record.lines),
                     outcome=item.outcome, reason_code=item.reason_code, reason=item.reason)


def _invalid_reason(record: LedgerRecord) -> str | None:
    """`orders.csv line 7, quantity: must be ...`: the line of the night's input, by file name,
    since the retry file's own lines are numbered differently."""
    inv = record.invalid
    if inv is None:
        return None
    where = f"{inv.file.replace(chr(92), '/').rsplit('/', 1)[-1]} line {inv.line}"
    return f"{where}, {inv.field}: {inv.message}" if inv.field else f"{where}: {inv.message}"


def plan(records: Iterable[LedgerRecord], include: frozenset[ItemOutcome]
         ) -> tuple[dict[int, list[Resend]], list[Unlocated]]:
    """Every resend of the ledger by input line, and the items that cannot be located."""
    by_line: dict[int, list[Resend]] = {}
    unlocated: list[Unlocated] = []
    for record in records:
        for entry in resends(record, include):
            if isinstance(entry, Unlocated):
                unlocated.append(entry)
            else:
                by_line.setdefault(entry.line, []).append(entry)
    return by_line, unlocated


def retry_order_id(order_id: str, *, input_was_retry: bool, taken: Callable[[str], bool]) -> str:
    """A new id for a resent order that no order of the night (nor an earlier new id) has.

    `A-17` becomes `A-17-r1`; when the input was itself a retry file, `A-17-r1` becomes
    `A-17-r2`. `taken(candidate)` says whether an id is in use; the next number is tried then.
    """
    base, n = order_id, 0
    match = _RETRY_SUFFIX.match(order_id) if input_was_retry else None
    if match:
        base, n = match["base"], int(match["n"])
    while True:
        n += 1
        candidate = f"{base}-r{n}"
        if not taken(candidate):
            return candidate


def parse_outcomes(text: str) -> frozenset[ItemOutcome]:
    """`NEEDS_REVIEW,stuck` → those outcomes; ValueError naming what is not one of INCLUDABLE."""
    names = [n.strip().upper() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in {o.value for o in INCLUDABLE}]
    if unknown:
        allowed = ", ".join(sorted(o.value for o in INCLUDABLE))
        raise ValueError(f"{', '.join(unknown)} cannot be included (one of {allowed}; PLACED "
                         "items are never resent)")
    return frozenset(ItemOutcome(n) for n in names)
