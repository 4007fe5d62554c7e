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


@pytest.mark.slow
def test_long_torture(tmp_path: Path) -> None:
    """Twenty SIGKILLs of a 300-order run under chaos faults leave a complete, truthful ledger."""
    report = torture(tmp_path, orders=300, kills=20, seed=7, max_kill_after_s=4.0, strict_rps=40.0)
    assert report.final_exit in (0, 1), report.problems
    assert report.problems == []
    assert sum(report.ledger_status.values()) == 300
