"""How much room a bucket has, bounded from its answers, under each limiter shape."""

from __future__ import annotations

import pytest

from batch_runner.core.rate_budget import (
    ClientBucket,
    Hypothesis,
    Sent,
    Shape,
    View,
    Windows,
    token_room,
    wait_before_send,
    window_count,
)

OPS = frozenset({"createCart", "submitCart"})
ALIGNED = Windows.aligned(20.0)  #: our whole seconds, within 10 ms either way


def view(serial: int, remaining: int, *, sent: float, received: float, op: str = "createCart",
         limited: bool = False, limit: int = 20) -> View:
    return View(serial=serial, operation=op, sent=sent, received=received, limited=limited,
                remaining=remaining, limit=limit)


def test_a_token_bucket_refills_from_the_answer_and_loses_a_token_per_later_request() -> None:
    """Remaining 5 answered at 100.010; two requests since; 0.1 s of refill at 20/s."""
    v = view(1, 5, sent=100.0, received=100.01)
    log = [Sent(1, "createCart", 100.0, 100.01), Sent(2, "createCart", 100.02),
           Sent(3, "submitCart", 100.03)]
    assert token_room(v, log, counts=OPS, now=100.11, rps=20.0) == pytest.approx(5 + 2 - 2)
    # Under one bucket per operation, the submit is not this bucket's.
    assert token_room(v, log, counts={"createCart"}, now=100.11, rps=20.0) == pytest.approx(6)


def test_a_request_answered_before_the_view_was_sent_is_already_in_it() -> None:
    v = view(2, 5, sent=100.0, received=100.01)
    log = [Sent(1, "createCart", 99.9, 99.95), Sent(2, "createCart", 100.0, 100.01)]
    assert token_room(v, log, counts=OPS, now=100.01, rps=20.0) == pytest.approx(5)


def test_the_refill_never_passes_the_capacity() -> None:
    v = view(1, 19, sent=100.0, received=100.01)
    assert token_room(v, [], counts=OPS, now=200.0, rps=20.0) == pytest.approx(20)


def test_a_limit_above_the_configured_rate_is_not_used() -> None:
    """Server says 50 left of 50, we were told 1/s: one request, then wait a second."""
    v = view(1, 49, sent=100.0, received=100.01, limit=50)
    assert token_room(v, [], counts=OPS, now=100.02, rps=1.0) == pytest.approx(0.01)


def test_a_window_counts_the_view_and_whatever_may_follow_it_in_the_same_second() -> None:
    v = view(1, 15, sent=100.2, received=100.21)  # 5 counted in this window, itself included
    log = [Sent(1, "createCart", 100.2, 100.21), Sent(2, "createCart", 100.3),
           Sent(3, "submitCart", 100.35, 100.36)]
    assert window_count(v, log, counts=OPS, now=100.4, rps=20.0, windows=ALIGNED) == 7
    # A view from the window before says nothing about this one: only our requests count.
    old = view(0, 0, sent=99.5, received=99.51)
    assert window_count(old, log, counts=OPS, now=100.4, rps=20.0, windows=ALIGNED) == 3


def test_a_request_in_flight_across_a_window_edge_counts_in_both() -> None:
    log = [Sent(1, "createCart", 99.999)]
    old = view(9, 3, sent=98.0, received=98.01)
    assert window_count(old, log, counts=OPS, now=99.9995, rps=20.0, windows=ALIGNED) == 1
    assert window_count(old, log, counts=OPS, now=100.5, rps=20.0, windows=ALIGNED) == 1


def hyp(*views: View, counts: frozenset[str] = OPS) -> Hypothesis:
    return Hypothesis(list(views), counts)


@pytest.mark.parametrize(
    ("shape", "now", "expected"),
    [
        # Token room 0 + 20 x 0.04 = 0.8: wait 0.01 s for a whole token.
        (Shape.TOKEN_BUCKET, 100.05, pytest.approx(0.01)),
        # The window has counted 20 (remaining 0): nothing until the next window has surely
        # begun (101.01: the server's clock may be up to 10 ms behind ours).
        (Shape.FIXED_WINDOW, 100.05, pytest.approx(0.96)),
        (Shape.UNKNOWN, 100.05, pytest.approx(0.96)),
        # In the next second a window is empty, but the token bucket is still refilling.
        (Shape.FIXED_WINDOW, 101.02, 0.0),
        (Shape.TOKEN_BUCKET, 101.02, 0.0),
    ],
)
def test_wait_fits_every_shape_still_possible(shape: Shape, now: float, expected: object) -> None:
    v = view(1, 0, sent=100.0, received=100.01)
    log = [Sent(1, "createCart", 100.0, 100.01)]
    assert wait_before_send(hypotheses=[hyp(v)], log=log, now=now, rps=20.0, shape=shape,
                            guard_s=0.003) == expected


def test_a_full_window_waits_until_the_next_has_surely_begun_unless_it_is_a_token_bucket() -> None:
    """Full at 100.0: the server's next window may begin at 100.99 or as late as 101.01."""
    v = view(1, 0, sent=100.0, received=100.01)
    log = [Sent(1, "createCart", 100.0, 100.01)]
    kwargs = {"hypotheses": [hyp(v)], "log": log, "rps": 20.0, "guard_s": 0.003}
    assert wait_before_send(now=100.995, shape=Shape.UNKNOWN, **kwargs) == pytest.approx(0.015)
    assert wait_before_send(now=101.005, shape=Shape.FIXED_WINDOW, **kwargs) == pytest.approx(0.005)
    assert wait_before_send(now=101.011, shape=Shape.FIXED_WINDOW, **kwargs) == 0.0
    assert wait_before_send(now=100.995, shape=Shape.TOKEN_BUCKET, **kwargs) == 0.0


def test_a_request_near_a_possible_edge_is_counted_in_both_windows() -> None:
    """Sent at 101.0, in flight: the window that began at 100.99 to 101.01 counts it, and so does
    the one before; nothing is sent at the last moment before the latest possible edge."""
    log = [Sent(1, "createCart", 101.0)]
    assert window_count(None, log, counts=OPS, now=101.005, rps=20.0, windows=ALIGNED) == 1
    assert window_count(None, log, counts=OPS, now=101.5, rps=20.0, windows=ALIGNED) == 1
    v = view(1, 10, sent=100.0, received=100.01)
    assert wait_before_send(hypotheses=[hyp(v)], log=[Sent(1, "createCart", 100.0, 100.01)],
                            now=101.008, rps=20.0, shape=Shape.FIXED_WINDOW,
                            guard_s=0.003) == pytest.approx(0.002)


def test_windows_skewed_from_our_clock_start_where_the_server_says() -> None:
    """The server's windows start 0.45 s before our whole seconds, known to within 4 ms."""
    w = Windows(1.0, lo=-0.452, hi=-0.448)
    assert w.start(100.6) == pytest.approx(100.552)
    assert w.start(100.5) == pytest.approx(99.552)
    assert w.surely_one(100.56, 101.54)
    assert not w.surely_one(100.56, 101.549)
    v = view(1, 0, sent=100.3, received=100.31)  # full in the window that began near 99.55
    log = [Sent(1, "createCart", 100.3, 100.31)]
    assert wait_before_send(hypotheses=[hyp(v)], log=log, now=100.4, rps=20.0,
                            shape=Shape.FIXED_WINDOW, guard_s=0.003,
                            windows=w) == pytest.approx(0.152)


def test_the_windows_last_request_probes_the_middle_of_the_span_where_the_next_begins() -> None:
    """Known shape, start known only within 100 ms: with one slot left, the last request waits
    for the middle of that span; within the PHASE_PROBE_SPREAD_S it goes at once."""
    v = view(1, 1, sent=100.1, received=100.11)  # 19 counted: one left
    log = [Sent(1, "createCart", 100.1, 100.11)]
    kwargs = {"hypotheses": [hyp(v)], "log": log, "rps": 20.0, "guard_s": 0.003,
              "shape": Shape.FIXED_WINDOW}
    wide = Windows(1.0, lo=-0.05, hi=0.05)
    assert wait_before_send(now=100.2, windows=wide, **kwargs) == pytest.approx(0.8)
    assert wait_before_send(now=100.2, windows=ALIGNED, **kwargs) == 0.0


def test_only_answers_can_make_room_when_the_requests_in_flight_fill_the_bucket() -> None:
    v = view(1, 19, sent=100.0, received=100.01)
    log = [Sent(1, "createCart", 100.0, 100.01), *(Sent(i, "createCart", 100.02) for i in range(2, 22))]
    assert wait_before_send(hypotheses=[hyp(v)], log=log, now=100.03, rps=20.0,
                            shape=Shape.TOKEN_BUCKET, guard_s=0.003) is None


def test_the_tightest_view_of_a_hypothesis_is_used_and_every_hypothesis_must_agree() -> None:
    """Two views of one burst: the one processed first shows the window's count exactly."""
    first = view(1, 19, sent=100.02, received=100.03)
    last = view(2, 18, sent=100.021, received=100.031)
    log = [Sent(1, "createCart", 100.02, 100.03), Sent(2, "createCart", 100.021, 100.031)]
    ok = wait_before_send(hypotheses=[hyp(first, last)], log=log, now=100.04, rps=20.0,
                          shape=Shape.FIXED_WINDOW, guard_s=0.003)
    assert ok == 0.0
    full = view(3, 0, sent=100.0, received=100.01, op="submitCart")
    blocked = wait_before_send(hypotheses=[hyp(first, last), hyp(full)], log=log, now=100.04,
                               rps=20.0, shape=Shape.FIXED_WINDOW, guard_s=0.003)
    assert blocked == pytest.approx(0.97)


def test_a_hypothesis_without_views_sets_no_bound() -> None:
    assert wait_before_send(hypotheses=[hyp()], log=[], now=5.0, rps=20.0,
                            shape=Shape.UNKNOWN, guard_s=0.003) == 0.0


def test_while_the_shape_is_unknown_the_windows_last_request_waits_after_the_one_before() -> None:
    v = view(1, 1, sent=100.1, received=100.11)  # 19 counted: one left
    log = [Sent(1, "createCart", 100.1, 100.11)]
    kwargs = {"hypotheses": [hyp(v)], "log": log, "rps": 20.0, "guard_s": 0.003}
    assert wait_before_send(now=100.12, shape=Shape.FIXED_WINDOW, **kwargs) == 0.0
    assert wait_before_send(now=100.12, shape=Shape.UNKNOWN, **kwargs) == pytest.approx(0.13)


def test_our_own_pace_without_answers_is_the_configured_rate() -> None:
    bucket = ClientBucket(2.0, 10.0)
    bucket.take(10.0)
    bucket.take(10.0)
    assert bucket.wait_s(10.0) == pytest.approx(0.5)
    assert bucket.wait_s(10.5) == 0.0



def test_while_window_starts_are_assumed_a_new_windows_first_request_goes_alone() -> None:
    """Our whole seconds only assumed: the first request after 101.01 waits for its answer
    before the next goes; once learned (known), the window's room is used at once."""
    before = view(1, 10, sent=100.5, received=100.51)
    log = [Sent(1, "createCart", 100.5, 100.51), Sent(2, "createCart", 101.02)]
    kwargs = {"hypotheses": [hyp(before)], "log": log, "now": 101.03, "rps": 20.0,
              "guard_s": 0.003, "shape": Shape.FIXED_WINDOW}
    assumed = Windows(1.0, -0.01, 0.01, known=False)
    assert wait_before_send(windows=assumed, **kwargs) is None
    assert wait_before_send(windows=Windows(1.0, -0.01, 0.01), **kwargs) == 0.0
    answered = view(2, 18, sent=101.02, received=101.025)
    log[1] = Sent(2, "createCart", 101.02, 101.025)
    assert wait_before_send(hypotheses=[hyp(before, answered)], log=log, now=101.03, rps=20.0,
                            guard_s=0.003, shape=Shape.FIXED_WINDOW, windows=assumed) == 0.0
