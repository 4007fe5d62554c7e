"""When the night goes wrong: the API unreachable, every payment failing, the deadline passing.

The real CLI and runner against a closed port and the real simulator over loopback. Each run
that stops early exits 3, says why, and a rerun into the same --out finishes with nothing twice.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.abc
import orjson
import pytest
from anyio.abc import SocketAttribute

from batch_runner.cart_flow import MAX_CREATE_ATTEMPTS
from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.ledger import RUN_STATS_NAME, read_run_stats
from batch_runner.simulator import Behaviour, Fault, SimConfig, Simulator, running_simulator
from tests.faults.test_fault_matrix import blind_resends
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, write_jsonl

KEY = "sk_test_outage_4b1d"
ENV = {**os.environ, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.9"}
FAST_FLAGS = ["--strict-rps", "50", "--default-rps", "500", "--poll-interval", "0.1",
              "--never-started-after", "1", "--stuck-after", "1.5", "--progress", "log"]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def journal_records(out: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (out / "journal.jsonl").read_bytes().splitlines()]


#: Orders still being placed while the network goes (placement 0.5 s).
SLOWER_PLACEMENT = SimConfig(profile="happy", **{**SIM_FAST, "placement_delay_s": 0.5})


def twelve_orders(tmp_path: Path, prefix: str) -> Path:
    """in.jsonl: orders {prefix}-0 .. {prefix}-11, one Amazon item each."""
    orders = [order(f"{prefix}-{n}", ("AMAZON", f"B0{prefix}X{n:04d}")) for n in range(12)]
    return write_jsonl(tmp_path / "in.jsonl", orders)


def placed_once(sim: Simulator, count: int) -> None:
    """The simulator's truth: `count` Rye orders placed, no cart's submission processed twice."""
    truth = sim.truth()
    assert all(c.submissions_processed <= 1 for c in truth.carts.values())
    placed = [o for o in truth.orders.values() if o.status == "SUCCEEDED"]
    assert len(placed) == count
    assert len({item for o in placed for item in o.items}) == count


async def test_a_closed_port_stops_the_run_within_the_budget_and_the_rerun_places_each_once(
    tmp_path: Path,
) -> None:
    """--outage-budget 10s against a closed port: exit 3 within 30 s, the message says the API was
    unreachable; the schema check has had no answer, so nothing at all is sent and --out is not
    created (nothing a rerun trips over); a rerun with the simulator up places every order once."""
    orders = [order(f"O-{n}", ("AMAZON", f"B0OUT{n:04d}")) for n in range(12)]
    path = write_jsonl(tmp_path / "in.jsonl", orders)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out),
           "--outage-budget", "10s", *FAST_FLAGS]
    with anyio.fail_after(30):
        first = await anyio.run_process(
            [*cmd, "--api-url", f"http://127.0.0.1:{closed_port()}/v1/query"], env=ENV, check=False)
    stderr = first.stderr.decode()
    assert first.returncode == 3
    assert re.search(r"API unreachable since \d\d:\d\d:\d\d \(last error: [^)]*cannot connect", stderr)
    assert "run the same command again when the API is reachable" in stderr
    attempts = int(re.findall(r"(\d+) attempts\)", stderr)[-1])
    # Waits doubling up to a twentieth of the budget: about 20 in 10 s, not one per order per second.
    assert 3 <= attempts <= 25
    assert not out.exists()
    assert KEY not in stderr

    async with running_simulator(SimConfig(profile="happy", seed=2, **SIM_FAST)) as sim:
        second = await anyio.run_process([*cmd, "--api-url", sim.url], env=ENV, check=False)
        placed_once(sim, 12)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    ledger = [orjson.loads(line) for line in (out / "ledger.jsonl").read_bytes().splitlines()]
    assert sorted(r["order_id"] for r in ledger) == sorted(o["order_id"] for o in orders)


async def test_an_outage_mid_run_past_the_budget_stops_with_exit_3_and_the_rerun_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The network goes away for good once some carts are submitted: the run waits one probe at
    a time, stops after --outage-budget with exit 3 (stop_kind outage), with no order started
    behind the outage and no intent lost; with the network back, a rerun places each order once."""
    async with running_simulator(SLOWER_PLACEMENT) as sim:
        path = twelve_orders(tmp_path, "M")
        async with anyio.create_task_group() as tg:
            plug = Plug(sim.port)
            await plug.plug_in(tg)

            async def outage() -> None:
                await submits_processed(sim, 4)
                plug.pull_out()
                pulled.append(time.time())

            pulled: list[float] = []
            tg.start_soon(outage)
            settings = replace(
                settings_for(sim, tmp_path, path, strict_rps=10.0, never_started_after_s=2.0,
                             stuck_after_s=30.0, outage_budget_s=3.0),
                api_url=f"http://127.0.0.1:{plug.port}/v1/query")
            with anyio.fail_after(60):
                first_code, first = await run(settings)
            stats = read_run_stats(tmp_path / "out" / RUN_STATS_NAME)
            records = journal_records(tmp_path / "out")
            await plug.plug_in(tg)
            second_code, ledger = await run(settings)
            plug.pull_out()
        assert blind_resends(sim) == []
        placed_once(sim, 12)
    err = capsys.readouterr().err
    assert first_code == 3
    assert len(first) < 12
    assert stats is not None
    assert stats.stop_kind == "outage"
    assert "nothing answered for" in (stats.stop_reason or "")
    assert re.search(r"API unreachable since \d\d:\d\d:\d\d \(last error: (cannot connect|connection lost)", err)
    late = [r for r in records if r["t"] == "create" and float(r["ts"]) > pulled[0] + 0.5]  # type: ignore[arg-type]
    assert len(late) <= 1  # no order started behind the outage (at most one as the probe)
    assert second_code == 0
    assert sorted(r.order_id for r in ledger) == sorted(f"M-{n}" for n in range(12))


async def test_the_api_coming_back_is_noticed_and_the_run_goes_on_by_itself(tmp_path: Path) -> None:
    """Nothing listens at first; the simulator then starts on that port: the run resumes by itself
    and places every order once, with the outage logged and its end too."""
    port = closed_port()
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"B-{n}", ("AMAZON", f"B0BACK{n:04d}")) for n in range(6)])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out),
           "--api-url", f"http://127.0.0.1:{port}/v1/query", "--outage-budget", "5m", *FAST_FLAGS]
    proc = await anyio.open_process(cmd, env=ENV)
    assert proc.stderr is not None
    seen = b""
    with anyio.fail_after(30):
        while b"API unreachable since" not in seen:
            seen += await proc.stderr.receive()
    async with running_simulator(SimConfig(profile="happy", seed=3, port=port, **SIM_FAST)) as sim:
        async with anyio.create_task_group() as tg:
            async def drain() -> None:
                nonlocal seen
                async for chunk in proc.stderr:  # type: ignore[union-attr]
                    seen += chunk

            tg.start_soon(drain)
            with anyio.fail_after(120):
                code = await proc.wait()
        placed_once(sim, 6)
    await proc.aclose()
    assert code == 0, seen.decode()[-2000:]
    assert b"API reachable again" in seen
    assert b"create_lost" not in (out / "journal.jsonl").read_bytes()


async def test_a_gateway_answering_503_for_longer_than_the_attempts_is_waited_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A balancer answers 503 to more createCarts than a cart flow attempts: once the breaker
    has opened, the client sends the createCart again at the gate, one probe at a time, so the
    outage budget bounds the wait, not the flow's attempts: the order is placed, not FAILED
    API_UNAVAILABLE, and the flow saw (and journaled as lost) only the 503s before the opening."""
    outage = MAX_CREATE_ATTEMPTS + 1
    config = SimConfig(profile="happy", seed=4, faults={"createCart": [Fault.UNAVAILABLE] * outage},
                       **SIM_FAST)
    async with running_simulator(config) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("G-1", ("AMAZON", "B0GATE0001"))])
        with anyio.fail_after(60):
            code, [record] = await run(settings_for(sim, tmp_path, path, outage_budget_s=10.0))
        creates = [r.http_status for r in sim.request_log() if r.operation == "createCart"]
        placed_once(sim, 1)
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    assert record.status is OrderStatus.PLACED
    assert creates == [503] * outage + [200]
    assert len([r for r in journal_records(tmp_path / "out") if r["t"] == "create_lost"]) <= 2
    assert "API unreachable since" in err
    assert "API reachable again" in err


async def test_https_to_a_plain_http_port_is_named_a_tls_failure(tmp_path: Path) -> None:
    """https:// at the simulator's plain-HTTP port: exit 3 at once, a TLS message, no outage."""
    async with running_simulator(SimConfig(profile="happy", **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order("T-1", ("AMAZON", "B0TLS0001"))])
        url = sim.url.replace("http://", "https://")
        with anyio.fail_after(30):
            result = await anyio.run_process(
                [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(tmp_path / "out"),
                 "--api-url", url, *FAST_FLAGS], env=ENV, check=False)
        assert not [r for r in sim.request_log() if r.operation]  # nothing reached the API
    stderr = result.stderr.decode()
    assert result.returncode == 3
    assert "no TLS connection" in stderr
    assert "plain HTTP" in stderr
    assert "API unreachable" not in stderr


async def test_every_payment_failing_stops_the_night_after_the_streak(tmp_path: Path) -> None:
    """--stop-after-failures 5 and every payment refused: no new cart after the fifth PAYMENT_FAILED
    in a row, what was in flight finishes, exit 3 naming the code and the count; nothing placed."""
    products = [f"B0PAY{n:04d}" for n in range(30)]
    script = dict.fromkeys(products, Behaviour.SUBMIT_FAIL_FALSE)
    async with running_simulator(SimConfig(profile="happy", script=script, **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"P-{n}", ("AMAZON", p)) for n, p in enumerate(products)])
        # A slow Strict rate: when the streak trips, createCarts are queued at the rate limiter.
        settings = settings_for(sim, tmp_path, path, stop_after_failures=5, max_in_flight=6,
                                strict_rps=20.0)
        code, ledger = await run(settings)
        carts = len(sim.truth().carts)
    assert code == 3
    assert 5 <= len(ledger) <= 5 + 6  # the fifth, and at most what was in flight beside it
    assert carts == len(ledger)  # no cart was created that did not finish
    assert {(r.status, r.items[0].reason_code) for r in ledger} == {(OrderStatus.FAILED, "PAYMENT_FAILED")}
    stats = read_run_stats(tmp_path / "out" / RUN_STATS_NAME)
    assert stats is not None
    assert stats.stop_kind == "failure_streak"
    assert stats.stop_reason is not None
    assert "PAYMENT_FAILED ended 5 orders in a row" in stats.stop_reason
    report = (tmp_path / "out" / "report.md").read_text()
    assert "stopped early (failure streak: PAYMENT_FAILED ended 5 orders in a row" in report


async def test_a_normal_mix_of_out_of_stock_and_placed_never_trips_the_streak(tmp_path: Path) -> None:
    """OUT_OF_STOCK on two orders of every three, --stop-after-failures 3: the night runs to its end."""
    products = [f"B0MIX{n:04d}" for n in range(15)]
    script = {p: Behaviour.PLACE_FAIL_FALSE for n, p in enumerate(products) if n % 3}
    async with running_simulator(SimConfig(profile="happy", script=script, **SIM_FAST)) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"M-{n}", ("AMAZON", p)) for n, p in enumerate(products)])
        code, ledger = await run(settings_for(sim, tmp_path, path, stop_after_failures=3, max_in_flight=1))
    assert code == 1
    assert len(ledger) == 15
    assert sum(r.status is OrderStatus.PLACED for r in ledger) == 5
    assert {r.items[0].reason_code for r in ledger if r.status is OrderStatus.FAILED} == {"OUT_OF_STOCK"}


async def test_the_deadline_stops_new_carts_exits_3_and_the_rerun_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """--deadline +1s with more orders than the Strict rate allows by then: the start says it does
    not fit; no cart is created or submitted after it, carts submitted are polled to their end,
    exit 3; the rerun resumes the carts already created and places the rest, every order once."""
    products = [f"B0DL{n:04d}" for n in range(30)]
    async with running_simulator(SimConfig(profile="happy", **{**SIM_FAST, "strict_rps": 10.0})) as sim:
        path = write_jsonl(tmp_path / "in.jsonl", [order(f"D-{n}", ("AMAZON", p)) for n, p in enumerate(products)])
        first_code, first = await run(settings_for(sim, tmp_path, path, strict_rps=10.0, deadline="+1s",
                                                   deadline_grace_s=20.0))
        submitted_first = sum(c.submissions_processed for c in sim.truth().carts.values())
        stats = read_run_stats(tmp_path / "out" / RUN_STATS_NAME)
        captured = capsys.readouterr()
        err, out = captured.err, captured.out
        second_code, ledger = await run(settings_for(sim, tmp_path, path, strict_rps=50.0))
        placed_once(sim, 30)
        carts = len(sim.truth().carts)
    assert "warning: 30 orders need at least 0m06s of Strict budget at 10 requests/s, but the deadline +1s" in err
    assert out.startswith("batch-runner: STOPPED EARLY (deadline): ")  # the summary's subject line
    assert "\nStopped early: deadline +1s" in out
    assert submitted_first == len(first)  # every cart submitted before the deadline was polled to its end
    assert carts == 30  # carts created before the deadline were resumed, not created again
    assert first_code == 3
    assert 0 < len(first) < 30
    assert all(r.status is OrderStatus.PLACED for r in first)  # submitted carts were polled to the end
    assert stats is not None
    assert stats.stop_kind == "deadline"
    assert second_code == 0
    assert len(ledger) == 30
    assert all(item.outcome is ItemOutcome.PLACED for r in ledger for item in r.items)


# --- a real transport outage in the middle of a run ---------------------------------------------


async def _pipe(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()


async def submits_processed(sim: Simulator, count: int) -> None:
    """Until the simulator has processed `count` submitCart requests (30 s at most)."""
    with anyio.fail_after(30):
        while sum(r.operation == "submitCart" and r.processed for r in sim.request_log()) < count:  # noqa: ASYNC110
            await anyio.sleep(0.02)


class Plug:
    """A TCP forwarder in front of the simulator that can be pulled out: while it is out, new
    connections are refused and those open are cut, as when the network goes away; the
    simulator (and every cart it holds) stays up."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._scope = anyio.CancelScope()

    async def plug_in(self, tg: anyio.abc.TaskGroup) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        self.port = int(listener.extra(SocketAttribute.local_port))
        self._scope = anyio.CancelScope()
        tg.start_soon(self._serve, listener, self._scope)

    def pull_out(self) -> None:
        self._scope.cancel()

    async def _serve(self, listener: anyio.abc.Listener[anyio.abc.SocketStream],
                     scope: anyio.CancelScope) -> None:
        with scope:
            async with listener:
                await listener.serve(self._forward)

    async def _forward(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            upstream = await anyio.connect_tcp("127.0.0.1", self.target_port)
            async with upstream, anyio.create_task_group() as tg:
                tg.start_soon(_pipe, client, upstream)
                tg.start_soon(_pipe, upstream, client)


async def test_the_network_gone_mid_run_is_waited_out_and_misclassifies_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Once a third of the orders are submitted, connections are refused and cut for 3 s: the run
    says the API is unreachable, waits one probe at a time, goes on by itself when it answers,
    and every order is placed once: no failed poll taken for a verdict, no blind resend."""
    async with running_simulator(SLOWER_PLACEMENT) as sim:
        path = twelve_orders(tmp_path, "N")
        async with anyio.create_task_group() as tg:
            plug = Plug(sim.port)
            await plug.plug_in(tg)

            async def outage() -> None:
                await submits_processed(sim, 4)
                plug.pull_out()
                await anyio.sleep(3.0)
                await plug.plug_in(tg)

            tg.start_soon(outage)
            settings = replace(
                settings_for(sim, tmp_path, path, strict_rps=10.0, never_started_after_s=2.0,
                             stuck_after_s=30.0, outage_budget_s=60.0),
                api_url=f"http://127.0.0.1:{plug.port}/v1/query")
            code, ledger = await run(settings)
            plug.pull_out()
        assert blind_resends(sim) == []
        placed_once(sim, 12)
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    assert [r.status for r in ledger] == [OrderStatus.PLACED] * 12
    assert re.search(r"API unreachable since \d\d:\d\d:\d\d \(last error: (cannot connect|connection lost)", err)
    assert "API reachable again" in err
