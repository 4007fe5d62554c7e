"""Token bucket or fixed window: what two answers of one operation prove, and what they cannot."""

from __future__ import annotations

import pytest

from batch_runner.core.limiter_shape import combine, evidence
from batch_runner.core.rate_budget import Shape, View, Windows


def v(remaining: int, sent: float, received: float, *, limited: bool = False,
      op: str = "createCart") -> View:
    return View(serial=int(sent * 1000), operation=op, sent=sent, received=received,
                limited=limited, remaining=remaining, limit=20)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Empty at 100.90, nearly full at 101.02: a bucket refills only 20 x 0.13 = 2.6 tokens.
        (v(0, 100.89, 100.90), v(19, 101.01, 101.02), Shape.FIXED_WINDOW),
        (v(0, 100.89, 100.90, limited=True), v(19, 101.01, 101.02), Shape.FIXED_WINDOW),
        # A whole second later a bucket could be full too: nothing proven.
        (v(0, 100.02, 100.03), v(19, 101.01, 101.02), None),
        # Within one window, room regained: only a bucket refills.
        (v(3, 100.30, 100.31), v(4, 100.50, 100.51), Shape.TOKEN_BUCKET),
        (v(3, 100.30, 100.31), v(3, 100.50, 100.51), Shape.TOKEN_BUCKET),
        (v(0, 100.30, 100.31, limited=True), v(0, 100.50, 100.51), Shape.TOKEN_BUCKET),
        # One less, as a window (and a bucket) would show.
        (v(3, 100.30, 100.31), v(2, 100.50, 100.51), None),
        # Room regained, but a window may have started in between (or at its edge).
        (v(3, 100.80, 100.81), v(4, 101.10, 101.11), None),
        (v(3, 100.30, 100.31), v(4, 100.98, 100.995), None),
        # Overlapping requests: processed in either order, nothing to compare.
        (v(0, 100.30, 100.40), v(19, 100.35, 100.36), None),
        # Different operations may be different buckets; a 429 second proves nothing here.
        (v(0, 100.89, 100.90), v(19, 101.01, 101.02, op="submitCart"), None),
        (v(3, 100.30, 100.31), v(0, 100.50, 100.51, limited=True), None),
    ],
)
def test_what_two_answers_prove(a: View, b: View, expected: Shape | None) -> None:
    assert evidence(a, b, rps=20.0) is expected


@pytest.mark.parametrize("level", [float(n) for n in range(21)])
@pytest.mark.parametrize("gap", [0.0, 0.02, 0.3, 0.9])
def test_a_token_bucket_never_looks_like_a_window(level: float, gap: float) -> None:
    """Simulated bucket readings, any level, any gap: never FIXED_WINDOW."""
    rps, tokens = 20.0, level
    a_sent, a_received = 100.3, 100.31
    tokens = max(0.0, tokens - 1.0)
    a = v(int(tokens), a_sent, a_received, limited=level < 1)
    b_sent = a_received + gap
    tokens = min(20.0, tokens + rps * (b_sent - a_sent)) - 1.0
    if tokens < 0:
        return
    b = v(int(tokens), b_sent, b_sent + 0.01)
    assert evidence(a, b, rps=rps) is not Shape.FIXED_WINDOW


@pytest.mark.parametrize("used", range(20))
@pytest.mark.parametrize("later", [0.05, 0.3, 0.6])
def test_one_window_never_looks_like_a_bucket(used: int, later: float) -> None:
    """A window's counter read twice in the same second only goes down."""
    a = v(20 - 1 - used, 100.1, 100.11)
    b = v(max(0, 20 - 2 - used), 100.11 + later, 100.12 + later, limited=used >= 19)
    assert evidence(a, b, rps=20.0) is not Shape.TOKEN_BUCKET


def test_disagreeing_evidence_leaves_the_shape_unknown_for_good() -> None:
    shape, contradicted = combine(Shape.UNKNOWN, Shape.TOKEN_BUCKET, contradicted=False)
    assert (shape, contradicted) == (Shape.TOKEN_BUCKET, False)
    shape, contradicted = combine(shape, Shape.FIXED_WINDOW, contradicted=contradicted)
    assert (shape, contradicted) == (Shape.UNKNOWN, True)
    assert combine(shape, Shape.TOKEN_BUCKET, contradicted=contradicted) == (Shape.UNKNOWN, True)


def test_room_given_back_twice_within_a_window_length_is_a_bucket_wherever_windows_start() -> None:
    """A window starts once per second, wherever: room back twice in 0.3 s is a refill."""
    anywhere = Windows(1.0, 0.0, 1.0)
    first = View(serial=1, operation="createCart", sent=100.0, received=100.01, limited=False,
                 remaining=0, limit=20)
    a = View(serial=2, operation="createCart", sent=100.1, received=100.11, limited=False,
             remaining=1, limit=20)
    b = View(serial=3, operation="createCart", sent=100.25, received=100.26, limited=False,
             remaining=2, limit=20)
    assert evidence(a, b, rps=20.0, windows=anywhere) is None
    assert evidence(a, b, rps=20.0, windows=anywhere, before=first) is Shape.TOKEN_BUCKET
    late = View(serial=3, operation="createCart", sent=101.1, received=101.11, limited=False,
                remaining=2, limit=20)
    assert evidence(a, late, rps=20.0, windows=anywhere, before=first) is None
