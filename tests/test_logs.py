"""Logs go to stderr as text or JSON lines, and no secret survives into them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import orjson
import pytest

from batch_runner.logs import REDACTED, setup_logging

KEY = "sk_live_Zq8v2mC7xKk3"


@pytest.fixture(autouse=True)
def _restore_logger() -> Iterator[None]:
    """Each test sets the "batch_runner" logger up afresh and leaves it clean."""
    logger = logging.getLogger("batch_runner")
    level, propagate = logger.level, logger.propagate
    yield
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def json_lines(err: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in err.splitlines() if line.strip()]


def test_json_format_writes_one_parseable_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Each record is one JSON object with ts, level, logger, msg and its extras."""
    logger = setup_logging(fmt="json", quiet=False, secrets=[KEY])
    logger.info("order %s finished", "A-1", extra={"order_id": "A-1", "status": "PLACED", "n": 3})
    logging.getLogger("batch_runner.runner").warning("429 from %s", "submitCart")
    first, second = json_lines(capsys.readouterr().err)
    assert first["msg"] == "order A-1 finished"
    assert (first["level"], first["logger"], first["order_id"], first["n"]) == ("info", "batch_runner", "A-1", 3)
    assert str(first["ts"]).endswith("Z")
    assert (second["level"], second["logger"]) == ("warning", "batch_runner.runner")


def test_json_lines_survive_awkward_extras_and_exceptions(capsys: pytest.CaptureFixture[str]) -> None:
    """Objects, non-string keys, newlines and tracebacks still make one valid JSON line each."""
    logger = setup_logging(fmt="json", quiet=False, secrets=[])
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logger.exception("boom", extra={"obj": object(), "mapping": {1: "x"}, "msg_extra": "a\nb"})
    logger.info("clash", extra={"level": "mine"})
    boom, clash = json_lines(capsys.readouterr().err)
    assert "ValueError: bad\nthing" in str(boom["exc"])
    assert boom["mapping"] == {"1": "x"}
    assert (clash["level"], clash["extra_level"]) == ("info", "mine")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_is_redacted_wherever_it_appears(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The key in the message, its arguments, an extra (even nested), a traceback or Basic auth is replaced."""
    logger = setup_logging(fmt=fmt, quiet=False, secrets=[KEY, ""])
    basic = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    logger.info(f"message {KEY}")
    logger.info("args %s %r", KEY, {"k": KEY})
    logger.info("extra", extra={"header": basic, "nested": {"a": [KEY, ("x", KEY)]}, "url": f"u?{KEY}"})
    try:
        raise RuntimeError(f"refused key {KEY}")
    except RuntimeError:
        logger.exception("failed")
    logger.info("stack", stack_info=True, extra={"n": 1})
    err = capsys.readouterr().err
    assert KEY not in err
    assert base64.b64encode(f"{KEY}:".encode()).decode() not in err
    assert err.count(REDACTED) >= 7


def test_the_logger_redacts_for_child_loggers_and_does_not_propagate(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Records of batch_runner.* go through the redacting handler and never reach the root logger."""
    setup_logging(fmt="text", quiet=False, secrets=[KEY])
    with caplog.at_level(logging.INFO):
        logging.getLogger("batch_runner.client").info("Authorization: %s", KEY)
    assert caplog.records == []
    err = capsys.readouterr().err
    assert f"Authorization: {REDACTED}" in err


def test_text_format_is_one_readable_line_with_extras(capsys: pytest.CaptureFixture[str]) -> None:
    """Text lines carry a UTC timestamp, the level, the message and key=value extras."""
    logger = setup_logging(fmt="text", quiet=False, secrets=[])
    logger.info("order finished", extra={"order_id": "A-1"})
    line = capsys.readouterr().err.strip()
    assert line.endswith("INFO order finished order_id=A-1")
    assert line[:4].isdigit()
    assert "Z INFO " in line


def test_quiet_keeps_only_warnings_and_setup_twice_does_not_double_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--quiet drops info lines; setting logging up again replaces the handler instead of adding one."""
    setup_logging(fmt="text", quiet=False, secrets=[])
    logger = setup_logging(fmt="text", quiet=True, secrets=[])
    logger.info("progress")
    logger.warning("deadline")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "deadline" in lines[0]


def test_a_record_whose_arguments_do_not_fit_is_still_written(capsys: pytest.CaptureFixture[str]) -> None:
    """A format/argument mismatch in a log call is logged as text, never raised into the run."""
    logger = setup_logging(fmt="json", quiet=False, secrets=[KEY])
    logger.info("two %s %s", KEY)  # noqa: PLE1206  # the mistake under test
    (line,) = json_lines(capsys.readouterr().err)
    assert "two %s %s" in str(line["msg"])
    assert KEY not in str(line)
