"""Logs: one JSON object per line for collectors, and secrets redacted wherever they appear."""

from __future__ import annotations

import json

import pytest

from batch_runner.logs import REDACTED, setup_logging


def test_json_log_lines_parse_and_carry_extras(capsys: pytest.CaptureFixture[str]) -> None:
    """--log-format json writes one parseable object per line with its extra fields."""
    logger = setup_logging(fmt="json", quiet=False, secrets=[])
    logger.info("order %s finished", "A-1", extra={"order_id": "A-1", "status": "PLACED"})
    logger.warning("second line")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["msg"] for line in lines] == ["order A-1 finished", "second line"]
    assert lines[0]["order_id"] == "A-1"
    assert lines[0]["level"] == "info"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secret_is_redacted_in_message_args_and_extras(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The API key never reaches stderr, whether in the message, its arguments or extra fields."""
    logger = setup_logging(fmt=fmt, quiet=False, secrets=["sk_secret_123"])
    logger.info("key sk_secret_123 in message")
    logger.info("key %s in args", "sk_secret_123")
    logger.info("in extra", extra={"header": "Basic sk_secret_123"})
    err = capsys.readouterr().err
    assert "sk_secret_123" not in err
    assert err.count(REDACTED) >= 2
