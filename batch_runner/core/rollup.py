"""An order's status from its items' outcomes (SPEC "Output")."""

from __future__ import annotations

from collections.abc import Iterable

from batch_runner.core.model import ItemOutcome, OrderStatus

ATTENTION = frozenset({ItemOutcome.STUCK, ItemOutcome.ACTION_REQUIRED, ItemOutcome.NEEDS_REVIEW})

#: (rule, status) in the order they are tried; the README prints this table.
RULES: tuple[tuple[str, OrderStatus], ...] = (
    ("any item INVALID", OrderStatus.INVALID),
    ("every item PLACED", OrderStatus.PLACED),
    ("any item STUCK, ACTION_REQUIRED or NEEDS_REVIEW", OrderStatus.NEEDS_ATTENTION),
    ("some items PLACED", OrderStatus.PARTIAL),
    ("otherwise", OrderStatus.FAILED),
)


def order_status(outcomes: Iterable[ItemOutcome]) -> OrderStatus:
    seen = list(outcomes)
    if ItemOutcome.INVALID in seen:
        return OrderStatus.INVALID
    if seen and all(o is ItemOutcome.PLACED for o in seen):
        return OrderStatus.PLACED
    if any(o in ATTENTION for o in seen):
        return OrderStatus.NEEDS_ATTENTION
    if ItemOutcome.PLACED in seen:
        return OrderStatus.PARTIAL
    return OrderStatus.FAILED
