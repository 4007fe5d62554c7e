"""kill -9 at random instants, resume, and nothing placed twice, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crash.torture import torture


def test_short_torture_places_nothing_twice_and_loses_nothing(tmp_path: Path) -> None:
    """A few SIGKILLs of a 50-order run under chaos faults leave a complete, truthful ledger."""
    report = torture(tmp_path, orders=50, kills=4, seed=11, max_kill_after_s=1.5, strict_rps=20.0)
    assert report.final_exit in (0, 1), report.problems
    assert report.kills == 4
    assert report.problems == []
    assert sum(report.ledger_status.values()) == 50


def test_torture_with_a_budget_never_places_past_it(tmp_path: Path) -> None:
    """SIGKILLs of a run under --budget (chaos faults, estimated prices): the simulator's placed
    total stays within the budget; the run stops with exit 3; a rerun without it finishes."""
    report = torture(tmp_path, orders=40, kills=4, seed=9, max_kill_after_s=1.0, strict_rps=20.0,
                     budget_cents=300_000)
    assert report.problems == []
    assert report.kills >= 1  # a run that reaches the budget before its kill ends the loop early
    assert report.budget_exit == 3
    assert report.placed_under_budget is not None
    assert 0 < report.placed_under_budget <= 300_000
    assert report.final_exit in (0, 1)
    assert sum(report.ledger_status.values()) == 40


@pytest.mark.slow
def test_long_torture_with_a_budget(tmp_path: Path) -> None:
    """Fifteen SIGKILLs of a 200-order run under --budget: never placed past it."""
    report = torture(tmp_path, orders=200, kills=15, seed=3, max_kill_after_s=3.0, strict_rps=40.0,
                     budget_cents=1_200_000)
    assert report.problems == []
    assert report.budget_exit == 3
    assert report.placed_under_budget is not None
    assert report.placed_under_budget <= 1_200_000
    assert sum(report.ledger_status.values()) == 200


@pytest.mark.slow
def test_long_torture(tmp_path: Path) -> None:
    """Twenty SIGKILLs of a 300-order run under chaos faults leave a complete, truthful ledger."""
    report = torture(tmp_path, orders=300, kills=20, seed=7, max_kill_after_s=4.0, strict_rps=40.0)
    assert report.final_exit in (0, 1), report.problems
    assert report.problems == []
    assert sum(report.ledger_status.values()) == 300
