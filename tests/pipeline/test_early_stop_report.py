"""A run stopped halfway says so everywhere; resumed, it finishes; run again, it sends nothing.

The real CLI as a subprocess against the real simulator, stopped by SIGTERM while orders are in
flight: the report's first line, stdout's first line and run_stats.json all say it stopped
early and how many orders are unfinished, and the report lists them with the command to resume.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import anyio
import orjson
import pytest

from batch_runner.ledger import read_run_stats, write_run_stats
from batch_runner.report import write_reports
from batch_runner.simulator import SimConfig, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, strict_requests, write_jsonl

ORDERS = 30


async def _stop_halfway(cmd: list[str], env: dict[str, str], ledger: Path) -> tuple[int, str]:
    proc = await anyio.open_process(cmd, env=env)
    with anyio.fail_after(30):
        while not ledger.exists() or len(ledger.read_bytes().splitlines()) < 3:  # noqa: ASYNC110, ASYNC240 (another process writes it)
            await anyio.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    out = b"".join([chunk async for chunk in proc.stdout])
    code = await proc.wait()
    await proc.aclose()
    return code, out.decode()


async def test_sigterm_halfway_leaves_a_report_that_leads_with_the_unfinished(tmp_path: Path) -> None:
    """First lines say STOPPED EARLY and N of 30 unfinished; the rerun finishes; a third run
    prints one line, exits as the finished run did, and sends no Strict request."""
    config = SimConfig(profile="happy", seed=4, start_delay_s=0.05, placement_delay_s=0.4,
                       strict_rps=10.0, default_rps=500.0)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl",
                           [order(f"H-{n}", ("AMAZON", f"B0HALF{n:04d}")) for n in range(ORDERS)])
        out = tmp_path / "out"
        env = {**os.environ, "RYE_API_KEY": "test-key", "RYE_SHOPPER_IP": "203.0.113.1"}
        cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out),
               "--api-url", sim.url, "--strict-rps", "10", "--poll-interval", "0.1",
               "--never-started-after", "2", "--stuck-after", "4", "--quiet"]
        first, stdout = await _stop_halfway(cmd, env, out / "ledger.jsonl")
        done = len((out / "ledger.jsonl").read_bytes().splitlines())
        report = (out / "report.md").read_text()
        stats = orjson.loads((out / "run_stats.json").read_bytes())
        second = await anyio.run_process(cmd, env=env, check=False)
        sent_before = len(sim.request_log())
        loud = [a for a in cmd if a != "--quiet"] + ["--progress", "log"]
        third = await anyio.run_process(loud, env=env, check=False)
        sent_after = len(sim.request_log())

    left = ORDERS - done
    assert first == 3
    assert 0 < done < ORDERS
    head = f"STOPPED EARLY (interrupted): {left} of {ORDERS} orders unfinished"
    assert report.splitlines()[0].startswith(f"# batch-runner report: {head}")
    assert stdout.splitlines()[0].startswith(f"batch-runner: {head}")
    assert stdout.splitlines()[0].endswith(", exit 3")
    assert (stats["interrupted"], stats["stop_kind"], stats["unfinished"]) == (True, "interrupted", left)
    assert sum(stats["unfinished_by_point"].values()) == left
    assert f"## Stopped early: {left} orders unfinished" in report
    stopped = report.split("## Stopped early", 1)[1].split("\n## ", 1)[0]
    assert stopped.count("| `H-") == left  # every unfinished order listed, with where it stopped
    assert f"--out {out}" in report  # the command that resumes it

    assert second.returncode == 0, second.stderr
    assert second.stdout.decode().splitlines()[0] == f"batch-runner: {ORDERS} PLACED, nothing to do, exit 0"
    assert "Stopped early" not in (out / "report.md").read_text()

    assert third.returncode == second.returncode
    assert third.stdout.decode().splitlines() == [
        f"already finished: {ORDERS} orders in the ledger, nothing sent"]
    assert b"progress" not in third.stderr  # no progress bar or line for a run with nothing to do
    assert sent_after == sent_before  # nothing at all was sent, not even the schema check
    assert third.stderr == b""


async def test_a_stop_that_came_after_the_last_order_is_settled_by_the_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run_stats.json says stopped, yet every order is in the ledger (the stop came as the last
    one finished, or the process was killed right after it): the rerun prints the one line,
    sends nothing, and the report no longer says it stopped early."""
    async with running_simulator(SimConfig(profile="happy", seed=2, **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"L-{n}", ("AMAZON", f"B0LAST{n}")) for n in range(3)])
        settings = settings_for(sim, tmp_path, path)
        code, _ = await run(settings)
        stats_path = tmp_path / "out" / "run_stats.json"
        stats = read_run_stats(stats_path)
        assert stats is not None
        write_run_stats(stats_path, replace(stats, interrupted=True, stop_kind="interrupted",
                                            stop_reason="interrupted by a signal"))
        write_reports(tmp_path / "out")
        assert "STOPPED EARLY" in (tmp_path / "out" / "report.md").read_text()
        capsys.readouterr()
        sent = len(strict_requests(sim))
        again, _ = await run(settings)
        assert len(strict_requests(sim)) == sent
    assert (code, again) == (0, 0)
    assert capsys.readouterr().out == "already finished: 3 orders in the ledger, nothing sent\n"
    assert (tmp_path / "out" / "report.md").read_text().startswith("# batch-runner report: 3 PLACED, nothing to do")
    settled = read_run_stats(stats_path)
    assert settled is not None
    assert not settled.interrupted
