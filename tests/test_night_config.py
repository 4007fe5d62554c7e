"""The unattended-night settings: --outage-budget, --stop-after-failures, --deadline, --deadline-grace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from batch_runner import cli
from batch_runner.config import Settings, load_settings
from batch_runner.errors import ConfigError


def load(job_text: str | None = None, tmp_path: Path | None = None, **overrides: object) -> Settings:
    job_file = None
    if job_text is not None:
        assert tmp_path is not None
        job_file = tmp_path / "night.toml"
        job_file.write_text(job_text, encoding="utf-8")
    return load_settings(job_file=job_file, overrides=overrides, env={}, today=date(2026, 11, 24))


def test_the_defaults() -> None:
    """30 minutes of outage, 50 failures in a row, 10 minutes of grace, no deadline."""
    settings = Settings()
    assert settings.outage_budget_s == 1800.0
    assert settings.stop_after_failures == 50
    assert settings.deadline_grace_s == 600.0
    assert settings.deadline is None


def test_job_file_keys_take_durations_as_seconds_or_with_a_unit(tmp_path: Path) -> None:
    """outage_budget = "10m", deadline_grace = 90, stop_after_failures = 0, deadline = "+2h"."""
    settings = load('outage_budget = "10m"\ndeadline_grace = 90\nstop_after_failures = 0\n'
                    'deadline = "+2h"\n', tmp_path)
    assert settings.outage_budget_s == 600.0
    assert settings.deadline_grace_s == 90.0
    assert settings.stop_after_failures == 0
    assert settings.deadline == "+2h"


def test_flags_override_the_job_file(tmp_path: Path) -> None:
    settings = load('outage_budget = "10m"\n', tmp_path, outage_budget_s="10s", deadline_grace_s="1h")
    assert settings.outage_budget_s == 10.0
    assert settings.deadline_grace_s == 3600.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('outage_budget = "soon"\n', "'outage_budget' in {job} must be seconds (a number > 0) or a number with s, m or h"),
        ("outage_budget = 0\n", "'outage_budget' in {job} must be seconds"),
        ("stop_after_failures = -1\n", "'stop_after_failures' in {job} must be a whole number >= 0, got -1"),
        ('deadline = "+forever"\n', "'deadline' in {job} must be a time \"HH:MM\", an ISO date-time or \"+DURATION\""),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(text, tmp_path)
    assert message.format(job=tmp_path / "night.toml") in str(caught.value)


def test_a_bad_flag_is_exit_2_naming_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--outage-budget 5 minutes: exit 2 and a message naming --outage-budget, no traceback."""
    code = cli.main(["run", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o"),
                     "--outage-budget", "5 minutes"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'--outage-budget' on the command line must be seconds" in err
    assert "Traceback" not in err


def test_help_lists_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--outage-budget", "--stop-after-failures", "--deadline", "--deadline-grace"):
        assert flag in text
