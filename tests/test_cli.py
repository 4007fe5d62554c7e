"""The command line: exit codes, messages, validate, report, job files, and no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner import cli

HEADER = "order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,postal_code,country_code\n"
ROW = "{oid},AMAZON,{pid},{qty},Ada,Lovelace,ada@example.com,1 Main St,Springfield,12345,US\n"


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(HEADER + "".join(ROW.format(oid=o, pid=p, qty=q) for o, p, q in rows))
    return path


def test_validate_counts_orders_items_and_estimates_the_night(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate prints orders, items, invalid lines with file:line, and the Strict minimum run time."""
    path = write_csv(tmp_path / "in.csv", [("A", "B1", "1"), ("A", "B2", "2"), ("B", "B3", "x")])
    code = cli.main(["validate", str(path), "--strict-rps", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert f'{path} line 4, quantity: must be a whole number \u2265 1 (got "x") (order B)' in out
    assert "1 valid orders, 2 line items, 1 invalid orders" in out
    assert "0m02s" in out


def test_validate_of_a_missing_file_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unusable input file is exit 2 with one clear message."""
    code = cli.main(["validate", str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no such file" in err
    assert "Traceback" not in err


def test_missing_required_columns_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV without required columns is refused, naming them."""
    path = tmp_path / "in.csv"
    path.write_text("order_id,marketplace\nA,AMAZON\n")
    assert cli.main(["validate", str(path)]) == 2
    assert "product_id" in capsys.readouterr().err


def test_run_without_a_key_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """run without RYE_API_KEY exits 2 and says which variable to set."""
    monkeypatch.delenv("RYE_API_KEY", raising=False)
    path = write_csv(tmp_path / "in.csv", [("A", "B1", "1")])
    code = cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--shopper-ip", "1.2.3.4"])
    assert code == 2
    assert "RYE_API_KEY" in capsys.readouterr().err


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-loopback http:// API URL is refused before anything is sent, saying why."""
    monkeypatch.setenv("RYE_API_KEY", "secret-key-xyz")
    path = write_csv(tmp_path / "in.csv", [("A", "B1", "1")])
    code = cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--shopper-ip", "1.2.3.4",
                     "--api-url", "http://api.example.com/v1/query"])
    err = capsys.readouterr().err
    assert code == 2
    assert "https" in err
    assert "secret-key-xyz" not in err


def test_job_file_unknown_key_names_key_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped job-file setting is exit 2 naming the key, the file and the likely fix."""
    job = tmp_path / "nightly.toml"
    job.write_text('stict_rps = 2\n')
    code = cli.main(["run", "--job", str(job)])
    err = capsys.readouterr().err
    assert code == 2
    assert "stict_rps" in err
    assert str(job) in err
    assert "strict_rps" in err


def test_job_file_refuses_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An API key in a job file is refused: secrets come only from the environment."""
    job = tmp_path / "nightly.toml"
    job.write_text('api_key = "abc"\n')
    assert cli.main(["run", "--job", str(job)]) == 2
    assert "RYE_API_KEY" in capsys.readouterr().err


def test_shipped_job_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """jobs/nightly.toml, as shipped, is a valid job file."""
    from batch_runner.config import load_settings

    root = Path(__file__).resolve().parent.parent
    settings = load_settings(job_file=root / "jobs" / "nightly.toml", overrides={"strict_rps": 3.0}, env={})
    assert settings.strict_rps == 3.0
    assert settings.input is not None
    assert settings.out is not None


def test_report_of_a_directory_without_ledger_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """report DIR on a directory that holds no run says so (exit 2)."""
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "ledger.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["report", "retry-file"])
def test_report_and_retry_file_wait_for_no_run_they_refuse_beside_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
) -> None:
    """Both rewrite files a run writes at its end: beside a running batch-runner (the --out
    lock held) they refuse with a message instead of racing it."""
    from batch_runner.journal import locked

    (tmp_path / "ledger.jsonl").write_bytes(b"")
    with locked(tmp_path):
        code = cli.main([command, str(tmp_path)])
    assert code == 2
    assert "batch-runner: error:" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()
