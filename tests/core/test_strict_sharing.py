"""What a probe pair's answers can prove about createCart and submitCart sharing a bucket."""

from __future__ import annotations

import pytest

from batch_runner.core.rate_budget import Shape, View
from batch_runner.core.strict_sharing import ProbeAnswer, proves_separate, proves_separate_views


def ok(remaining: int, limit: int = 20) -> ProbeAnswer:
    return ProbeAnswer(200, remaining, limit)


LIMITED = ProbeAnswer(429, 0, 20)


@pytest.mark.parametrize(
    ("first", "second", "refill", "others", "separate"),
    [
        # One bucket gives consecutive values to two requests sent together.
        (ok(12), ok(11), 0.02, 0, False),
        (ok(0), ok(1), 0.02, 0, False),
        # A drained bucket and a full one at the same instant: two buckets.
        (ok(0), ok(19), 0.02, 0, True),
        # ...unless that many other requests may have gone between them.
        (ok(0), ok(19), 0.02, 18, False),
        # ...or the span was long enough for the bucket to refill.
        (ok(0), ok(19), 18.0, 0, False),
        # Both full: one bucket can be full for only one of them.
        (ok(19), ok(19), 0.02, 0, True),
        (ok(19), ok(19), 1.0, 0, False),
        # A capacity of one: both accepted means two tokens where one bucket holds one.
        (ok(0, 1), ok(0, 1), 0.5, 0, True),
        # Refused by an empty bucket while the other shows tokens to spare: two buckets.
        (LIMITED, ok(10), 0.02, 0, True),
        (ok(10), LIMITED, 0.02, 0, True),
        # Refused while the other shows next to nothing: what one bucket would show too.
        (LIMITED, ok(1), 0.02, 0, False),
        (LIMITED, ok(10), 0.02, 9, False),
        # Both refused, or no numbers: nothing can be told.
        (LIMITED, LIMITED, 0.02, 0, False),
        (ProbeAnswer(200, None, None), ok(19), 0.02, 0, False),
        (ProbeAnswer(503, None, None), ok(19), 0.02, 0, False),
    ],
)
def test_what_a_pair_proves(
    first: ProbeAnswer, second: ProbeAnswer, refill: float, others: int, separate: bool
) -> None:
    assert proves_separate(first, second, refill=refill, others=others) is separate
    assert proves_separate(second, first, refill=refill, others=others) is separate


@pytest.mark.parametrize("level", range(1, 21))
@pytest.mark.parametrize("others", [0, 3])
def test_one_shared_bucket_never_proves_separate(level: int, others: int) -> None:
    """Whatever the level and whatever went between, one bucket's two readings prove nothing."""
    tokens = float(level)
    first = ok(int(tokens - 1))
    tokens -= 1 + min(others, int(tokens - 1))
    second = ok(int(tokens - 1)) if tokens >= 1 else LIMITED
    assert not proves_separate(first, second, refill=0.02, others=others)


def sv(op: str, remaining: int, sent: float, received: float, *, limited: bool = False) -> View:
    return View(serial=hash((op, sent)), operation=op, sent=sent, received=received,
                limited=limited, remaining=remaining, limit=20)


@pytest.mark.parametrize("shape", list(Shape))
def test_both_full_in_one_window_proves_separate_buckets_of_either_shape(shape: Shape) -> None:
    """A create and a submit both first in their bucket, 20 ms apart mid-window."""
    a, b = sv("createCart", 19, 100.40, 100.41), sv("submitCart", 19, 100.41, 100.42)
    assert proves_separate_views(a, b, others=5, rps=20.0, shape=shape)


@pytest.mark.parametrize("shape", [Shape.UNKNOWN, Shape.FIXED_WINDOW])
def test_a_window_boundary_between_them_proves_nothing(shape: Shape) -> None:
    """Both full, but a new second began between them: one window shows that too."""
    a, b = sv("createCart", 19, 100.99, 100.995), sv("submitCart", 19, 101.0, 101.02)
    assert not proves_separate_views(a, b, others=0, rps=20.0, shape=shape)
    # A token bucket cannot refill 19 tokens in 30 ms, boundary or not.
    assert proves_separate_views(a, b, others=0, rps=20.0, shape=Shape.TOKEN_BUCKET)


def test_the_same_operation_never_proves_anything() -> None:
    a, b = sv("createCart", 19, 100.40, 100.41), sv("createCart", 19, 100.41, 100.42)
    assert not proves_separate_views(a, b, others=0, rps=20.0, shape=Shape.UNKNOWN)


@pytest.mark.parametrize("count_before", range(19))
def test_one_shared_window_never_proves_separate(count_before: int) -> None:
    """Two requests in one window of one shared counter, whatever came before them."""
    first = sv("createCart", 20 - 1 - count_before, 100.40, 100.41)
    second = sv("submitCart", max(0, 20 - 2 - count_before), 100.40, 100.42,
                limited=count_before >= 19)
    assert not proves_separate_views(first, second, others=0, rps=20.0, shape=Shape.FIXED_WINDOW)
    assert not proves_separate_views(first, second, others=0, rps=20.0, shape=Shape.UNKNOWN)


def test_may_prove_separate_is_false_only_where_no_count_of_others_proves_anything() -> None:
    """The runner's cheap pre-check never hides a proof: wherever it says no, the full rules
    say no too, for any number of other requests, any shape, rate and answers."""
    import random

    from batch_runner.core.strict_sharing import may_prove_separate

    rng = random.Random(7)
    skipped = 0
    for _ in range(20_000):
        views = []
        for op in ("createCart", "submitCart"):
            sent = rng.uniform(0, 2)
            limited = rng.random() < 0.2
            views.append(View(serial=len(views), operation=op if rng.random() < 0.95 else "x",
                              sent=sent, received=sent + rng.uniform(0, 0.5), limited=limited,
                              remaining=0 if limited else rng.randint(0, 60),
                              limit=rng.choice([None, 20, 60]), seq=rng.randint(0, 50)))
        rps = rng.choice([0.5, 1.0, 20.0, 200.0, 5000.0])
        shape = rng.choice(list(Shape))
        if may_prove_separate(views[0], views[1], rps=rps, shape=shape):
            continue
        skipped += 1
        for others in (0, 1, 5, 50):
            assert not proves_separate_views(views[0], views[1], others=others, rps=rps,
                                             shape=shape)
    assert skipped > 5_000
