"""Every command's --help names the environment, the exit codes and every option's choices."""

from __future__ import annotations

import argparse

import pytest

from batch_runner import cli
from batch_runner.simulator.config import PROFILES

COMMANDS = ["run", "demo", "simulate", "validate", "preflight", "quote", "report", "retry-file"]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_tested_commands_are_all_the_commands() -> None:
    assert sorted(_subparsers()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_names_environment_exit_codes_and_choices(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    for variable in ("RYE_API_KEY", "RYE_SHOPPER_IP", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE"):
        assert variable in text
    assert "exit status:" in text
    for code in ("0", "1", "2", "3"):
        assert f"\n  {code}  " in text
    parser = _subparsers()[command[0]] if command else cli._parser()
    for action in parser._actions:
        if action.choices and not isinstance(action, argparse._SubParsersAction):
            assert "{" + ",".join(map(str, action.choices)) + "}" in text, action.dest


def test_run_help_shows_progress_and_log_format_choices(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--progress {auto,bar,log,none}" in text
    assert "--log-format {text,json}" in text
    assert "--notify-url" in text
    assert "URL/fail on exit 2 or 3" in text


def test_a_choice_not_offered_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "in.csv", "--out", "o", "--progress", "fancy"]) == 2
    assert "--progress: invalid choice: 'fancy'" in capsys.readouterr().err


def test_simulate_offers_the_simulator_profiles() -> None:
    assert cli.SIM_PROFILES == PROFILES


def test_simulate_offers_the_simulator_limiters_and_reset_styles() -> None:
    from batch_runner.simulator.config import RESET_STYLES
    from batch_runner.simulator.ratelimit import LIMITERS

    choices = {a.dest: a.choices for a in _subparsers()["simulate"]._actions}
    assert tuple(choices["limiter"] or ()) == tuple(LIMITERS)
    assert tuple(choices["reset_style"] or ()) == tuple(RESET_STYLES)
