"""Token bucket or fixed window? What two answers of one operation can prove. Pure.

Two answers for the same operation come from the same server bucket whether or not createCart
and submitCart share one, so they can be compared without knowing that. Each rule names
answers that only one shape can give:

- Only a window gives more room back than a bucket refilling at the rate could: after an answer
  `a` and a later answer `b` (sent after `a` came back), a token bucket shows at most
  `a.remaining + rate x (b received - a sent)`; more means the count started again.
- Only a bucket gives room back inside one window: in one window a counter only goes down, so `b`
  showing as much room as `a` (or room at all after a 429) within one window means the bucket
  refilled. Where windows start is known only once learned (core/window_phase.py); before
  that, room given back twice within one window's length (`before`, `a`, `b`) proves it: a
  window starts once per length, wherever its start.

Both assume what `--strict-rps` says, and where windows may start (`Windows`: our whole seconds
within ALIGN_MARGIN_S until the server's clock is learned). Evidence for both shapes from one
server means neither model holds: the caller then keeps to the intersection of both
(`Shape.UNKNOWN`).
"""

from __future__ import annotations

from batch_runner.core.rate_budget import Shape, View, Windows


def evidence(a: View, b: View, *, rps: float, windows: Windows | None = None,
             before: View | None = None) -> Shape | None:
    """The shape that `a` then `b` (same operation, `b` sent after `a` came back) prove, if any;
    `before`: the answer before `a`, if any."""
    if not _in_order(a, b) or b.limited:
        return None
    if b.remaining >= a.remaining + rps * (b.received - a.sent) + 1e-9:
        return Shape.FIXED_WINDOW
    windows = windows or Windows.aligned(rps)
    if windows.surely_one(a.sent, b.received) and (a.limited or b.remaining >= a.remaining):
        return Shape.TOKEN_BUCKET
    if (before is not None and _in_order(before, a) and not a.limited
            and _regained(before, a) and _regained(a, b)
            and b.received - before.sent < windows.length):
        return Shape.TOKEN_BUCKET
    return None


def _in_order(a: View, b: View) -> bool:
    """Same operation (so the same bucket), `b` sent after `a` came back."""
    return a.operation == b.operation and b.sent >= a.received


def _regained(a: View, b: View) -> bool:
    return b.remaining > (0 if a.limited else a.remaining)


def combine(known: Shape, new: Shape | None, *, contradicted: bool) -> tuple[Shape, bool]:
    """The shape to act on after one more piece of evidence, and whether evidence ever disagreed
    (then the shape stays UNKNOWN for the run: neither model describes the server)."""
    if new is None or contradicted:
        return known, contradicted
    if known is Shape.UNKNOWN or known is new:
        return new, False
    return Shape.UNKNOWN, True
