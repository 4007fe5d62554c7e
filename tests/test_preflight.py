"""`batch-runner preflight` against the real simulator: one line per check, exit 0 / 2 / 3, and
nothing but two Default-tier reads sent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from batch_runner import cli, queries
from batch_runner.config import Settings
from batch_runner.preflight import Line, Mark, checks, exit_code
from batch_runner.simulator import SimConfig, Simulator, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, write_jsonl
from tests.schema_drift import rename_field

KEY = "test-key-preflight-77"
PUBLIC_IP = "8.8.8.8"


def settings(sim: Simulator, **values: Any) -> Settings:
    base: dict[str, Any] = {"api_url": sim.url, "api_key": KEY, "shopper_ip": PUBLIC_IP}
    return replace(Settings(), **{**base, **values})


def marks(lines: list[Line]) -> list[Mark]:
    return [line.mark for line in lines]


def only(lines: list[Line], words: str) -> Line:
    [line] = [line for line in lines if words in line.text]
    return line


def sent(sim: Simulator) -> list[tuple[str, str]]:
    return [(r.operation, r.tier) for r in sim.request_log()]


async def test_all_good_is_exit_0_and_sends_two_default_reads_only(tmp_path: Path) -> None:
    """Key, IP, schema, tiers and the estimate all pass: exit 0; the simulator saw the
    introspection and one poll, both Default tier, and holds no cart."""
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"P-{n}", ("AMAZON", f"B0PRE{n}")) for n in range(30)])
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        lines = await checks(settings(sim, input=path, strict_rps=2.0))
        assert sent(sim) == [("__schema", "Default"), ("checkoutByCartID", "Default")]
        assert sim.truth().carts == {}
    assert exit_code(lines) == 0
    assert Mark.FAIL not in marks(lines)
    assert Mark.WARN not in marks(lines)
    assert only(lines, "key accepted").mark is Mark.OK
    assert only(lines, "shopper IP set: 8.8.8.8").mark is Mark.OK
    assert only(lines, f"live schema: checked: {len(queries.ALL_DOCUMENTS)} documents valid").mark is Mark.OK
    assert only(lines, "Default tier: Ratelimit-Tier Default, Limit 500").mark is Mark.OK
    assert only(lines, "Strict tier: 2 requests/s as configured").mark is Mark.INFO
    estimate = only(lines, "30 orders, 30 line items")
    assert "at least 0m30s at 2 Strict requests/s" in estimate.text


async def test_a_missing_shopper_ip_is_exit_2(tmp_path: Path) -> None:
    """No shopper IP: a FAIL line saying how to set it, exit 2; the other checks still run."""
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        lines = await checks(settings(sim, shopper_ip=None))
    line = only(lines, "shopper IP not set")
    assert (line.mark, line.exit_code) == (Mark.FAIL, 2)
    assert "--shopper-ip" in line.text
    assert "RYE_SHOPPER_IP" in line.text
    assert only(lines, "key accepted").mark is Mark.OK
    assert exit_code(lines) == 2


async def test_a_drifted_schema_is_exit_2_naming_each_mismatch(tmp_path: Path) -> None:
    """The server's Checkout renamed `orders`: FAIL with the operation, field and graphql-core's words."""
    drifted = tmp_path / "drifted.graphql"
    drifted.write_text(rename_field("Checkout", "orders", "ryeOrders"))
    async with running_simulator(SimConfig(schema_path=str(drifted), **SIM_FAST)) as sim:
        lines = await checks(settings(sim))
        assert [tier for _, tier in sent(sim)] == ["Default", "Default"]
    line = only(lines, "live schema: 1 document problem")
    assert (line.mark, line.exit_code) == (Mark.FAIL, 2)
    assert line.details == (("checkoutByCartID, field checkoutByCartID.orders: Cannot query field "
                            "'orders' on type 'Checkout'. Did you mean 'ryeOrders'?"),)
    assert exit_code(lines) == 2


async def test_a_refused_key_is_exit_2() -> None:
    """The API answers 403 to the key: a FAIL line (a problem the user fixes: exit 2, not 3)."""
    async with running_simulator(SimConfig(refused_keys=frozenset({KEY}), **SIM_FAST)) as sim:
        lines = await checks(settings(sim))
        assert [r.http_status for r in sim.request_log()] == [403]
    line = only(lines, "key refused")
    assert (line.mark, line.exit_code) == (Mark.FAIL, 2)
    assert "HTTP 403" in line.text
    assert only(lines, "API reachable").mark is Mark.OK
    assert only(lines, "live schema: not checked").mark is Mark.INFO
    assert KEY not in " ".join(line.text for line in lines)
    assert exit_code(lines) == 2


async def test_no_key_sends_nothing_and_is_exit_2() -> None:
    """RYE_API_KEY unset: a FAIL line, exit 2, and no request at all."""
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        lines = await checks(settings(sim, api_key=""))
        assert sim.request_log() == ()
    assert only(lines, "no API key").exit_code == 2
    assert exit_code(lines) == 2


async def test_refused_introspection_is_a_warning_not_a_failure() -> None:
    """A server with introspection off: warned (run goes on without the check), exit 0."""
    async with running_simulator(SimConfig(refuse_introspection=400, **SIM_FAST)) as sim:
        lines = await checks(settings(sim))
    line = only(lines, "live schema unavailable")
    assert line.mark is Mark.WARN
    assert "go on without the check" in line.text
    assert only(lines, "key accepted").mark is Mark.OK
    assert exit_code(lines) == 0


async def test_a_default_rate_above_the_servers_limit_is_warned() -> None:
    """The server's Default tier allows 50 per second; --default-rps 100 is flagged, not fatal."""
    async with running_simulator(SimConfig(**{**SIM_FAST, "default_rps": 50.0})) as sim:
        lines = await checks(settings(sim, default_rps=100.0))
    line = only(lines, "Default tier")
    assert line.mark is Mark.WARN
    assert "Limit 50" in line.text
    assert "--default-rps 100 is above the server's limit" in line.text
    assert exit_code(lines) == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_closed_port_is_exit_3(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens at --api-url: the API line says it cannot be reached, exit 3."""
    monkeypatch.setenv("RYE_API_KEY", KEY)
    url = f"http://127.0.0.1:{_closed_port()}/v1/query"
    code = cli.main(["preflight", "--api-url", url, "--shopper-ip", PUBLIC_IP])
    out = capsys.readouterr().out
    assert code == 3
    assert f"[FAIL] API not reached at {url}: no answer from the API (cannot connect" in out
    assert out.splitlines()[-1] == "preflight: the API cannot be reached; try again later (exit 3)"


async def test_the_command_prints_one_ascii_line_per_check_and_never_the_key(tmp_path: Path) -> None:
    """The real command: every line starts with a mark, the output is ASCII, the key is absent."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("P-1", ("AMAZON", "B0PRECLI"))])
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        env = {**os.environ, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": PUBLIC_IP}
        result: subprocess.CompletedProcess[bytes] = await anyio.run_process(
            [sys.executable, "-m", "batch_runner", "preflight", str(path), "--api-url", sim.url],
            env=env, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    lines = result.stdout.decode("ascii").splitlines()
    assert all(line.startswith(tuple(m.value for m in Mark)) for line in lines[:-1])
    assert lines[-1] == "preflight: all good: nothing to fix before the run"
    assert len(lines) == 8  # API, key, IP, schema, Default tier, Strict tier, estimate + verdict
    assert KEY.encode() not in result.stdout + result.stderr


def test_a_proxy_we_cannot_use_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """HTTPS_PROXY=socks5://... : preflight (which builds a client without run's own check)
    exits 2 naming the variable, as run does."""
    monkeypatch.setenv("RYE_API_KEY", "sk_test_proxy_0001")
    monkeypatch.setenv("RYE_SHOPPER_IP", "8.8.8.8")
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.example:1080")
    monkeypatch.delenv("https_proxy", raising=False)
    code = cli.main(["preflight", "--api-url", "https://api.example/v1/query"])
    err = capsys.readouterr().err
    assert code == 2
    assert "HTTPS_PROXY" in err
    assert "Traceback" not in err
