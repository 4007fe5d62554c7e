"""Graceful stop, resume, a secret that never leaks, and faults that must not misclassify orders."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio

from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.simulator import Behaviour, SimConfig, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, strict_requests, write_jsonl

SECRET = "sk_live_RECOGNISABLE_7f3a9c"


async def test_sigterm_stops_gracefully_exits_3_and_the_rerun_finishes(tmp_path: Path) -> None:
    """SIGTERM: no new orders, exit 3; the next run into the same --out finishes with nothing twice."""
    config = SimConfig(profile="happy", seed=3, start_delay_s=0.05, placement_delay_s=0.3,
                       strict_rps=10.0, default_rps=500.0)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"S-{n}", ("AMAZON", f"B0STOP{n:04d}")) for n in range(40)])
        out = tmp_path / "out"
        env = {**os.environ, "RYE_API_KEY": SECRET, "RYE_SHOPPER_IP": "203.0.113.1"}
        cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out), "--api-url",
               sim.url, "--strict-rps", "10", "--poll-interval", "0.1", "--never-started-after", "2",
               "--stuck-after", "4", "--quiet"]
        proc = await anyio.open_process(cmd, env=env)
        ledger = out / "ledger.jsonl"
        with anyio.fail_after(30):
            while not ledger.exists() or len(ledger.read_bytes().splitlines()) < 3:  # noqa: ASYNC110 (another process writes it)
                await anyio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        first = await proc.wait()
        await proc.aclose()
        done_first = len((out / "ledger.jsonl").read_text().splitlines())
        second = await anyio.run_process(cmd, env=env, check=False)
        truth = sim.truth()
    assert first == 3
    assert 0 < done_first < 40
    assert second.returncode == 0
    assert len((out / "ledger.jsonl").read_text().splitlines()) == 40
    assert all(c.submissions_processed <= 1 for c in truth.carts.values())
    placed = [o for o in truth.orders.values() if o.status == "SUCCEEDED"]
    assert len(placed) == 40


async def test_the_api_key_appears_in_no_byte_written(tmp_path: Path) -> None:
    """A whole job with a recognisable key: stdout, stderr, journal, ledger, reports never contain it."""
    config = SimConfig(profile="realistic", seed=5, **SIM_FAST)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"K-{n}", ("AMAZON", f"B0KEY{n:04d}")) for n in range(15)])
        out = tmp_path / "out"
        env = {**os.environ, "RYE_API_KEY": SECRET, "RYE_SHOPPER_IP": "203.0.113.1"}
        result = await anyio.run_process(
            [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out), "--api-url", sim.url,
             "--strict-rps", "50", "--poll-interval", "0.1", "--never-started-after", "1",
             "--stuck-after", "1.5", "--log-format", "json", "--progress", "log"],
            env=env, check=False,
        )
    assert result.returncode in (0, 1)
    written = [result.stdout, result.stderr] + [p.read_bytes() for p in out.iterdir() if p.is_file()]
    assert all(SECRET.encode() not in blob for blob in written)
    assert (out / "report.html").exists()


async def test_unexpected_order_state_goes_to_needs_review(tmp_path: Path) -> None:
    """An order that ends in a state the runner does not expect (CANCELLED) is NEEDS_REVIEW, not a crash."""
    async with running_simulator(SimConfig(profile="happy", script={"B0CANCEL": Behaviour.UNKNOWN_EVENT}, **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("C-1", ("AMAZON", "B0CANCEL"))])
        _, [record] = await run(settings_for(sim, tmp_path, path))
    assert record.items[0].outcome is ItemOutcome.NEEDS_REVIEW
    assert record.items[0].reason_code == "UNEXPECTED_STATE"


async def test_api_away_for_a_while_waits_and_misclassifies_nothing(tmp_path: Path) -> None:
    """Requests fail while the API is down; the run waits with backoff, then every order is placed."""
    async with running_simulator(SimConfig(profile="happy", **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"D-{n}", ("AMAZON", f"B0DOWN{n:03d}")) for n in range(8)])
        sim.set_down(True)
        async with anyio.create_task_group() as tg:
            async def bring_back() -> None:
                await anyio.sleep(2.5)
                sim.set_down(False)

            tg.start_soon(bring_back)
            code, ledger = await run(settings_for(sim, tmp_path, path, never_started_after_s=1.0))
        truth = sim.truth()
    assert code == 0
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * 8
    assert all(c.submissions_processed == 1 for c in truth.carts.values() if c.submissions_processed)
    assert len(strict_requests(sim)) >= 16


async def test_chaos_transport_faults_never_place_anything_twice(tmp_path: Path) -> None:
    """Under 503s, resets, 504-after-processing and slow answers, each item is placed at most once."""
    config = SimConfig(profile="chaos", seed=9, slow_s=0.3, **SIM_FAST)
    async with running_simulator(config) as sim:
        orders = [order(f"X-{n}", ("AMAZON", f"B0CHAOS{n:03d}"), ("SHOPIFY", f"55{n:012d}")) for n in range(30)]
        path = write_jsonl(tmp_path / "in.jsonl", orders)
        code, ledger = await run(settings_for(sim, tmp_path, path, read_timeout_s=5.0))
        truth = sim.truth()
    assert code in (0, 1)
    assert len(ledger) == 30
    placed: dict[str, int] = {}
    for o in truth.orders.values():
        if o.status == "SUCCEEDED":
            for _, pid, _ in o.items:
                placed[pid] = placed.get(pid, 0) + 1
    assert all(n == 1 for n in placed.values())
    for record in ledger:
        for item in record.items:
            assert (item.outcome is ItemOutcome.PLACED) == (placed.get(item.product_id) == 1)


async def test_a_second_signal_stops_at_once_and_the_rerun_is_still_safe(tmp_path: Path) -> None:
    """First SIGINT waits for a slow submitCart in flight; the second exits at once; the rerun is safe."""
    products = [f"B0INT{n:04d}" for n in range(6)]
    config = SimConfig(profile="happy", seed=4, start_delay_s=0.05, placement_delay_s=0.2, slow_s=8.0,
                       strict_rps=50.0, default_rps=500.0,
                       script=dict.fromkeys(products, Behaviour.SUBMIT_SLOW_ONCE))
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"I-{n}", ("AMAZON", p)) for n, p in enumerate(products)])
        out = tmp_path / "out"
        env = {**os.environ, "RYE_API_KEY": SECRET, "RYE_SHOPPER_IP": "203.0.113.1"}
        base = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out), "--api-url",
                sim.url, "--strict-rps", "50", "--poll-interval", "0.1", "--quiet"]
        proc = await anyio.open_process([*base, "--never-started-after", "30", "--stuck-after", "60"], env=env)
        journal = out / "journal.jsonl"
        with anyio.fail_after(30):
            while not journal.exists() or journal.read_bytes().count(b'"t":"submit"') < 6:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        await anyio.sleep(1.0)
        assert proc.returncode is None  # graceful: the slow submissions are still in flight
        proc.send_signal(signal.SIGINT)
        with anyio.fail_after(5):  # less than the 8 s the submissions would take
            first = await proc.wait()
        await proc.aclose()
        second = await anyio.run_process([*base, "--never-started-after", "0.5", "--stuck-after", "5"],
                                         env=env, check=False)
        truth = sim.truth()
    assert first == 3
    assert second.returncode == 0
    assert len((out / "ledger.jsonl").read_text().splitlines()) == 6
    assert all(c.submissions_processed <= 1 for c in truth.carts.values())
    assert len([o for o in truth.orders.values() if o.status == "SUCCEEDED"]) == 6
