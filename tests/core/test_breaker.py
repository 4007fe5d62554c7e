"""The circuit breaker: one probe at a time, growing capped waits, any answer closes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_runner.core.breaker import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    Go,
    Wait,
    policy_for_budget,
)

POLICY = BreakerPolicy(failures_to_open=3, first_wait_s=0.5, max_wait_s=4.0)


def closed(now: float = 0.0) -> Breaker:
    breaker = Breaker(POLICY)
    decision = breaker.admit(now)
    assert decision == Go(probe=True)
    breaker.answered(probe=True)
    assert breaker.state is BreakerState.CLOSED
    return breaker


def test_the_first_request_probes_alone_until_it_is_answered() -> None:
    """Nothing heard yet: the first request is a probe and the others wait for its fate."""
    breaker = Breaker(POLICY)
    assert breaker.admit(0.0) == Go(probe=True)
    assert breaker.admit(0.0) == Wait(after_s=None)
    breaker.answered(probe=True)
    assert breaker.admit(0.0) == Go(probe=False)
    assert not breaker.unreachable()


def test_failures_in_a_row_open_it_and_an_answer_between_resets_the_count() -> None:
    """Two failures, an answer, two failures: still closed; a third in a row opens it."""
    breaker = closed()
    for _ in range(2):
        breaker.failed(1.0, "reset", probe=False)
    breaker.answered(probe=False)
    for _ in range(2):
        breaker.failed(2.0, "reset", probe=False)
    assert breaker.state is BreakerState.CLOSED
    breaker.failed(2.0, "refused", probe=False)
    assert breaker.state is BreakerState.OPEN
    assert breaker.admit(2.1) == Wait(after_s=pytest.approx(0.4))
    assert breaker.unreachable()
    assert breaker.down_since == 2.0  # the first failure since the last answer


@pytest.mark.parametrize(
    ("failed_probes", "expected_wait"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0), (9, 4.0)],
)
def test_each_failed_probe_doubles_the_wait_up_to_the_cap(failed_probes: int, expected_wait: float) -> None:
    """Open after the streak with the first wait; each failed probe doubles it; the cap holds."""
    breaker = closed()
    now = 10.0
    for _ in range(3):
        breaker.failed(now, "refused", probe=False)
    for _ in range(failed_probes):
        now = breaker.reopen_at
        assert breaker.admit(now) == Go(probe=True)
        assert breaker.admit(now) == Wait(after_s=None)  # one probe at a time
        breaker.failed(now, "refused", probe=True)
    assert breaker.reopen_at - now == pytest.approx(expected_wait)


def test_a_probe_answered_closes_it_and_the_waits_start_over() -> None:
    """After recovery, the next outage starts again from the first wait."""
    breaker = closed()
    for _ in range(3):
        breaker.failed(0.0, "refused", probe=False)
    breaker.admit(0.5)
    breaker.failed(0.5, "refused", probe=True)
    breaker.admit(1.5)
    breaker.answered(probe=True)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.down_since is None
    assert breaker.down_for(100.0) == 0.0
    for _ in range(3):
        breaker.failed(20.0, "refused", probe=False)
    assert breaker.reopen_at == pytest.approx(20.5)


def test_an_answer_to_a_request_sent_before_the_outage_also_closes_it() -> None:
    """Any answer proves the API reachable, even while the breaker is open."""
    breaker = closed()
    for _ in range(3):
        breaker.failed(0.0, "refused", probe=False)
    breaker.answered(probe=False)
    assert breaker.admit(0.1) == Go(probe=False)


def test_an_abandoned_probe_frees_the_slot_for_another() -> None:
    """A probe never sent (the run stopping) lets the next request probe instead."""
    breaker = Breaker(POLICY)
    assert breaker.admit(0.0) == Go(probe=True)
    breaker.abandoned(probe=True)
    assert breaker.admit(0.0) == Go(probe=True)


def test_late_failures_while_open_keep_the_last_error_but_not_the_wait() -> None:
    """Failures of requests sent before the breaker opened do not push the probe further."""
    breaker = closed()
    for _ in range(3):
        breaker.failed(0.0, "refused", probe=False)
    breaker.failed(0.3, "dns failure", probe=False)
    assert breaker.reopen_at == pytest.approx(0.5)
    assert breaker.last_error == "dns failure"
    stats = breaker.statistics()
    assert stats.failures == 4
    assert stats.down_since == 0.0


@given(st.lists(st.tuples(st.sampled_from(["admit", "answer", "fail", "abandon"]),
                          st.floats(min_value=0.0, max_value=3.0)), max_size=80))
def test_never_two_probes_and_never_a_wait_past_the_cap(steps: list[tuple[str, float]]) -> None:
    """Whatever happens in whatever order: at most one probe is out, nothing goes while the
    breaker is open and its wait has not passed, and no wait is longer than the cap."""
    breaker = Breaker(POLICY)
    now = 0.0
    out: list[bool] = []  # requests given a Go and not yet finished: probe or not
    for action, elapsed in steps:
        now += elapsed
        if action == "admit":
            was_open = breaker.state is BreakerState.OPEN and now < breaker.reopen_at
            decision = breaker.admit(now)
            if isinstance(decision, Go):
                assert not was_open
                out.append(decision.probe)
            elif decision.after_s is not None:
                assert 0 < decision.after_s <= POLICY.max_wait_s
        elif out:
            probe = out.pop(0)
            if action == "answer":
                breaker.answered(probe=probe)
            elif action == "fail":
                breaker.failed(now, "refused", probe=probe)
            else:
                breaker.abandoned(probe=probe)
        assert sum(out) <= 1
        assert breaker.reopen_at - now <= POLICY.max_wait_s


def test_a_probe_failing_after_another_answer_closed_the_breaker_leaves_it_closed() -> None:
    """The API answered a request while the probe was out: its late failure reopens nothing."""
    b = Breaker(BreakerPolicy())
    decision = b.admit(0.0)
    assert isinstance(decision, Go)
    assert decision.probe
    b.answered(probe=False)
    b.failed(0.1, "reset", probe=True)
    assert b.state is BreakerState.CLOSED
    assert b.down_since is None


def test_the_longest_wait_fits_twenty_probes_in_the_outage_budget() -> None:
    """The default 30-minute budget keeps 30 s waits; a short budget probes more often, and no
    budget makes the longest wait shorter than the first."""
    assert policy_for_budget(1800.0).max_wait_s == 30.0
    assert policy_for_budget(120.0).max_wait_s == 6.0
    assert policy_for_budget(2.0).max_wait_s == policy_for_budget(2.0).first_wait_s == 0.5
    assert policy_for_budget(120.0).failures_to_open == BreakerPolicy().failures_to_open
