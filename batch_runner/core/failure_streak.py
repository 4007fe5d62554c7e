"""--stop-after-failures: when one failure code ends N finished orders in a row, the night stops.

Pure. The runner feeds each finished order's outcomes in the order they finish; `observe`
returns a Trip once the same code has ended `limit` orders in a row with nothing placed in
between. Think of a payment token shared by every order that has expired: without this the night
spends its whole Strict budget failing every order the same way.

What counts, order by order:
    an item PLACED                                  the streak ends (something works)
    status FAILED, its items' commonest code C      the streak of C grows (another code: starts at 1)
    anything else (NEEDS_ATTENTION with nothing     the streak ends: not the same failure
    placed)
    INVALID (never sent)                            ignored: it cost nothing, it proves nothing
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from batch_runner.core.model import ItemOutcome, OrderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Trip:
    code: str
    count: int

    @property
    def message(self) -> str:
        return (f"{self.code} ended {self.count} orders in a row with nothing placed between "
                "(--stop-after-failures): no new carts were created after that")


def failure_code(status: OrderStatus, items: Iterable[tuple[ItemOutcome, str | None]]) -> str | None:
    """The code that ended a FAILED order: its items' commonest reason code (first on a tie)."""
    if status is not OrderStatus.FAILED:
        return None
    codes = Counter(code or "UNKNOWN" for outcome, code in items if outcome is ItemOutcome.FAILED)
    return codes.most_common(1)[0][0] if codes else None


class FailureStreak:
    """`limit` 0 turns it off. After the first Trip it keeps counting but trips no more."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.code: str | None = None
        self.count = 0
        self.tripped: Trip | None = None

    def __repr__(self) -> str:
        return f"<FailureStreak {self.code}x{self.count} of {self.limit}>"

    def observe(self, status: OrderStatus,
                items: Iterable[tuple[ItemOutcome, str | None]]) -> Trip | None:
        """One finished order; a Trip the first time the streak reaches the limit."""
        if status is OrderStatus.INVALID:
            return None
        code = failure_code(status, items)
        if code is None:
            self.code, self.count = None, 0
            return None
        self.count = self.count + 1 if code == self.code else 1
        self.code = code
        if self.limit and self.tripped is None and self.count >= self.limit:
            self.tripped = Trip(code=code, count=self.count)
            return self.tripped
        return None
