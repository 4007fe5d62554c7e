"""core/window_phase.py: where a server's fixed windows start on our clock, from its answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_runner.core.window_phase import MARGIN_S, WindowPhase


def test_a_roll_over_sets_the_span_and_later_ones_narrow_it() -> None:
    """The server's windows start at our x.55 (its clock 0.45 s behind ours)."""
    phase = WindowPhase(1.0)
    phase.rolled_over(100.40, 100.60)  # a window began in between
    assert phase.hi - phase.lo == pytest.approx(0.2 + 2 * MARGIN_S)
    assert phase.windows().start(300.7) == pytest.approx(300.6 + MARGIN_S)
    phase.rolled_over(205.50, 205.58)  # another second, the same offset
    assert phase.hi - phase.lo == pytest.approx(0.08 + 2 * MARGIN_S)
    assert phase.windows().start(300.7) == pytest.approx(300.58 + MARGIN_S)
    assert phase.windows().start(300.55) == pytest.approx(299.58 + MARGIN_S)


def test_the_same_window_seen_twice_cuts_the_span_from_one_end() -> None:
    phase = WindowPhase(1.0)
    phase.rolled_over(100.40, 100.60)
    phase.stayed(101.30, 101.52)  # counted in one window: none began in between
    assert phase.hi - phase.lo == pytest.approx(0.6 + MARGIN_S - (0.52 - MARGIN_S))
    assert phase.windows().start(300.7) == pytest.approx(300.6 + MARGIN_S)


def test_an_observation_against_the_span_starts_it_again() -> None:
    """The server's clock stepped: the old span is dropped for what the answers now say."""
    phase = WindowPhase(1.0)
    phase.rolled_over(100.40, 100.45)
    phase.rolled_over(200.10, 200.15)
    assert (phase.lo, phase.hi) == pytest.approx((0.1 - MARGIN_S, 0.15 + MARGIN_S))


def test_nothing_is_learned_from_a_pair_a_whole_window_apart_or_before_any_roll_over() -> None:
    phase = WindowPhase(1.0)
    phase.stayed(100.2, 100.4)
    phase.rolled_over(100.2, 101.3)
    assert not phase.learned
    assert phase.windows().start(100.5) == pytest.approx(100.01)  # our whole seconds, assumed


def test_a_429_makes_the_next_roll_over_start_the_span_again() -> None:
    phase = WindowPhase(1.0)
    phase.rolled_over(100.40, 100.45)
    phase.doubt()
    phase.rolled_over(100.70, 100.80)
    assert (phase.lo, phase.hi) == pytest.approx((-0.3 - MARGIN_S, -0.2 + MARGIN_S))


@given(offset=st.floats(-0.5, 0.5), seed=st.integers(0, 10_000))
def test_the_span_always_holds_the_true_offset_and_shrinks_under_halving_probes(
    offset: float, seed: int,
) -> None:
    """Answers from a server whose windows start at `offset` (mod 1 s): roll-overs and same-window
    pairs around random instants, then probes at the span's middle as rate_budget sends them."""
    rng = random.Random(seed)

    def window(t: float) -> int:
        return int((t - offset) // 1.0)

    phase = WindowPhase(1.0)
    probes = 0
    for n in range(400):
        if probes == 20:
            break
        probes += phase.learned
        if not phase.learned:  # ordinary traffic: pairs of answers at random instants
            a = 100.0 + n + rng.random()
            b = a + rng.uniform(0.01, 0.3)
        else:  # the phase probe: b sent in the middle of where the next window may begin
            middle = 100.0 + n + (phase.lo + phase.hi) / 2
            a, b = middle - rng.uniform(0.2, 0.6), middle
        if window(a) != window(b):
            phase.rolled_over(a, b + 0.002)
        else:
            phase.stayed(a + 0.002, b)
        if phase.learned:
            true = offset - round(offset - (phase.lo + phase.hi) / 2)
            assert phase.lo - 1e-9 <= true <= phase.hi + 1e-9
    assert phase.learned
    assert phase.hi - phase.lo < 0.03
