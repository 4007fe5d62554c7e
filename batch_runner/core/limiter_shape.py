"""Token bucket or fixed window? What two answers of one operation can prove. Pure.

Two answers for the same operation come from the same server bucket whether or not createCart
and submitCart share one, so they can be compared without knowing that. Each rule names
answers that only one shape can give:

- Only a window gives more room back than a bucket refilling at the rate could: after an answer
  `a` and a later answer `b` (sent after `a` came back), a token bucket shows at most
  `a.remaining + rate x (b received - a sent)`; more means the count started again.
- Only a bucket gives room back inside one window: in one window a counter only goes down, so `b`
  showing as much room as `a` (or room at all after a 429) within one aligned window means the
  bucket refilled.

Both assume what `--strict-rps` and the window alignment say (windows aligned to wall-clock
seconds within `ALIGN_MARGIN_S`). Evidence for both shapes from one server means neither model
holds: the caller then keeps to the intersection of both (`Shape.UNKNOWN`).
"""

from __future__ import annotations

from batch_runner.core.rate_budget import Shape, View, window_of, window_s

#: Answers this close to a window's edge are not taken as inside it (clock skew, rounding).
ALIGN_MARGIN_S = 0.01


def evidence(a: View, b: View, *, rps: float) -> Shape | None:
    """The shape that `a` then `b` (same operation, `b` sent after `a` came back) prove, if any."""
    if a.operation != b.operation or b.sent < a.received or b.limited:
        return None
    if b.remaining >= a.remaining + rps * (b.received - a.sent) + 1e-9:
        return Shape.FIXED_WINDOW
    if _same_window(a, b, rps) and (a.limited or b.remaining >= a.remaining):
        return Shape.TOKEN_BUCKET
    return None


def _same_window(a: View, b: View, rps: float) -> bool:
    length = window_s(rps)
    return window_of(a.sent - ALIGN_MARGIN_S, length) == window_of(b.received + ALIGN_MARGIN_S, length)


def combine(known: Shape, new: Shape | None, *, contradicted: bool) -> tuple[Shape, bool]:
    """The shape to act on after one more piece of evidence, and whether evidence ever disagreed
    (then the shape stays UNKNOWN for the run: neither model describes the server)."""
    if new is None or contradicted:
        return known, contradicted
    if known is Shape.UNKNOWN or known is new:
        return new, False
    return Shape.UNKNOWN, True
