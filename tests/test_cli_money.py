"""The money options and `quote` on the command line: clear errors, the up-front estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner import cli
from batch_runner.simulator.process import simulator_process
from tests.test_cli import write_csv


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--budget", "abc", "USD"], "'--budget' on the command line must be an amount and an ISO currency code"),
        (["--budget", "100", "dollars"], "'--budget' on the command line"),
        (["--max-order-total", "-5"], "'--max-order-total' on the command line must be an amount"),
        (["--max-order-total", "1e99"], "'--max-order-total' on the command line"),
    ],
)
def test_bad_money_options_are_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: list[str], named: str,
) -> None:
    """A bad --budget or --max-order-total exits 2 naming the option, with no traceback."""
    monkeypatch.setenv("RYE_API_KEY", "k")
    path = write_csv(tmp_path / "in.csv", [("A", "B1", "1")])
    code = cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--shopper-ip", "1.2.3.4", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert named in err
    assert "Traceback" not in err


def test_a_job_file_budget_is_read(tmp_path: Path) -> None:
    """budget and max_order_total are job-file keys, checked like flags."""
    job = tmp_path / "job.toml"
    job.write_text('budget = "1500.50 usd"\nmax-order-total = 200\n')
    from batch_runner.config import load_settings

    settings = load_settings(job_file=job, overrides={}, env={})
    assert settings.budget == "1500.50 USD"
    assert settings.max_order_total == "200"


def test_quote_prints_its_estimate_and_writes_the_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`batch-runner quote` estimates from the Strict rate up front, sends no submitCart, exits 0."""
    monkeypatch.setenv("RYE_API_KEY", "k")
    path = write_csv(tmp_path / "in.csv", [("A", "B0CLI0001", "1"), ("B", "B0CLI0002", "2")])
    out = tmp_path / "out"
    with simulator_process("--profile", "happy", "--strict-rps", "50") as url:
        code = cli.main(["quote", str(path), "--out", str(out), "--api-url", url,
                         "--strict-rps", "2", "--poll-interval", "0.1"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Quoting 2 orders: 2 createCart calls, at least 0m01s at 2 Strict requests/s" in text
    assert (out / "quote.csv").is_file()
    assert "| USD | 2 |" in (out / "quote.md").read_text()
    assert '"t":"submit"' not in (out / "journal.jsonl").read_text()
