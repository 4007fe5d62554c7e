"""The live-schema check at the start of `run`, the real CLI against the real simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import orjson
import pytest

from batch_runner.client import MAX_BODY_BYTES, MAX_SCHEMA_BYTES
from batch_runner.core.model import OrderStatus
from batch_runner.ledger import read_ledger
from batch_runner.live_schema import fetch_schema_check, make_client
from batch_runner.schema_check import schema_sha256
from batch_runner.simulator import Fault, SimConfig, Simulator, running_simulator
from tests.pipeline.conftest import SIM_FAST, order, run, settings_for, write_jsonl
from tests.schema_drift import rename_field

KEY = "test-key-live-schema-1"


def drifted_schema(tmp_path: Path) -> Path:
    """Rye's schema with checkoutByCartID's `orders` renamed: the drift that once cost 5 orders."""
    path = tmp_path / "drifted.graphql"
    path.write_text(rename_field("Checkout", "orders", "ryeOrders"))
    return path


def strict_tier(sim: Simulator) -> list[str]:
    return [r.operation for r in sim.request_log() if r.tier == "Strict"]


async def cli_run(path: Path, out: Path, url: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.9"}
    return await anyio.run_process(
        [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out), "--api-url", url,
         "--strict-rps", "50", "--default-rps", "500", "--poll-interval", "0.1",
         "--never-started-after", "1", "--stuck-after", "1.5", "--progress", "none"],
        env=env, check=False,
    )


async def test_a_drifted_schema_stops_the_run_before_anything_is_sent(tmp_path: Path) -> None:
    """Drifted checkoutByCartID: exit 2 naming operation, field and the server's words; the
    simulator saw one request (the introspection, Default tier) and no Strict one; --out was
    not created; the same command against the right API then places every order."""
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"D-{n}", ("AMAZON", f"B0DRIFT{n}")) for n in range(5)])
    out = tmp_path / "out"
    config = SimConfig(schema_path=str(drifted_schema(tmp_path)), **SIM_FAST)
    async with running_simulator(config) as sim:
        result = await cli_run(path, out, sim.url)
        log = sim.request_log()
        truth = sim.truth()
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "checkoutByCartID, field checkoutByCartID.orders" in stderr
    assert "Cannot query field 'orders' on type 'Checkout'. Did you mean 'ryeOrders'?" in stderr
    assert "nothing was sent" in stderr
    assert "Traceback" not in stderr
    assert [(r.operation, r.tier) for r in log] == [("__schema", "Default")]
    assert strict_tier(sim) == []
    assert truth.carts == {}
    assert not out.exists()  # no journal, no lock, nothing a later run trips over

    async with running_simulator(SimConfig(**SIM_FAST)) as good:
        again = await cli_run(path, out, good.url)
    assert again.returncode == 0, again.stderr.decode()
    assert [r.status for r in read_ledger(out / "ledger.jsonl")] == [OrderStatus.PLACED] * 5


async def test_a_drifted_schema_leaves_an_earlier_runs_out_untouched(tmp_path: Path) -> None:
    """A resume into an --out that holds a journal and ledger: the mismatch changes no byte of it.
    (The first run stops at a tiny budget, so the second is a real resume, not a finished job.)"""
    path = write_jsonl(tmp_path / "in.jsonl", [order("R-1", ("AMAZON", "B0RESUME1"))])
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        settings = settings_for(sim, tmp_path, path, budget="0.01 USD")
        code, _ = await run(settings)
    assert code == 3
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    config = SimConfig(schema_path=str(drifted_schema(tmp_path)), **SIM_FAST)
    async with running_simulator(config) as sim:
        result = await cli_run(path, out, sim.url)
        assert strict_tier(sim) == []
    assert result.returncode == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("status", [200, 400])
async def test_a_server_refusing_introspection_is_said_in_one_line_and_the_run_goes_on(
    tmp_path: Path, status: int
) -> None:
    """Introspection refused (a GraphQL error at HTTP 200, or 400 as Apollo answers): one warning
    line, every order placed, and run_stats.json and the report say the check was unavailable."""
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"N-{n}", ("AMAZON", f"B0NOINT{n}")) for n in range(3)])
    out = tmp_path / "out"
    async with running_simulator(SimConfig(refuse_introspection=status, **SIM_FAST)) as sim:
        result = await cli_run(path, out, sim.url)
        refused = [r.http_status for r in sim.request_log() if r.operation == "__schema"]
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert refused == [status]  # asked once: a refusal is not asked again
    lines = [line for line in stderr.splitlines() if "live-schema check" in line]
    assert len(lines) == 1
    assert "unavailable" in lines[0]
    assert "introspection has been disabled" in lines[0]
    assert "going on without it" in lines[0]
    assert [r.status for r in read_ledger(out / "ledger.jsonl")] == [OrderStatus.PLACED] * 3
    stats = orjson.loads((out / "run_stats.json").read_bytes())
    assert stats["schema_check"] == "unavailable"
    assert stats["schema_sha256"] is None
    assert f"HTTP {status}" in stats["schema_note"]
    assert "| live schema | unavailable, documents not checked:" in (out / "report.md").read_text()


async def test_a_checked_run_records_the_schemas_hash(tmp_path: Path) -> None:
    """Against the simulator's own schema: checked, with the sha256 of the schema it serves, in
    run_stats.json and the report; the introspection went through the Default tier."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("C-1", ("AMAZON", "B0CHECKED"))])
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        code, _ = await run(settings_for(sim, tmp_path, path))
        expected = schema_sha256(sim.schema)
        introspections = [r.tier for r in sim.request_log() if r.operation == "__schema"]
        default_tier = [r for r in sim.request_log() if r.tier == "Default"]
    assert code == 0
    assert introspections == ["Default"]
    out = tmp_path / "out"
    stats = orjson.loads((out / "run_stats.json").read_bytes())
    assert stats["default_requests"] == len(default_tier)  # the introspection counted too
    assert (stats["schema_check"], stats["schema_sha256"]) == ("checked", expected)
    assert f"checked before the first order; schema sha256 {expected}" in (out / "report.md").read_text()


async def test_a_refused_key_on_introspection_is_exit_3_and_creates_no_out(tmp_path: Path) -> None:
    """The key is refused on the first request (the introspection): exit 3 as before, and --out is
    not created, so the rerun with the right key starts clean."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("K-1", ("AMAZON", "B0KEYREF1"))])
    out = tmp_path / "out"
    async with running_simulator(SimConfig(refused_keys=frozenset({KEY}), **SIM_FAST)) as sim:
        result = await cli_run(path, out, sim.url)
        statuses = [r.http_status for r in sim.request_log()]
    assert result.returncode == 3
    assert b"refused the API key (HTTP 403)" in result.stderr
    assert KEY.encode() not in result.stderr
    assert statuses == [403]
    assert not out.exists()


async def test_an_api_down_at_the_start_is_asked_again_then_checked(tmp_path: Path) -> None:
    """503s for the first introspection: asked again after a wait, checked, and the run goes on."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("U-1", ("AMAZON", "B0UPAGAIN"))])
    async with running_simulator(SimConfig(faults={"__schema": [Fault.UNAVAILABLE]}, **SIM_FAST)) as sim:
        code, _ = await run(settings_for(sim, tmp_path, path))
        statuses = [r.http_status for r in sim.request_log() if r.operation == "__schema"]
    assert code == 0
    assert statuses == [503, 200]
    stats = orjson.loads((tmp_path / "out" / "run_stats.json").read_bytes())
    assert stats["schema_check"] == "checked"


@pytest.mark.parametrize(("size", "outcome"), [(6 << 20, "checked"), (17 << 20, "unavailable")])
async def test_a_large_schema_is_read_up_to_its_own_bound(tmp_path: Path, size: int, outcome: str) -> None:
    """The schema may pass the 4 MiB bound of a cart's answer (6 MiB is still read and checked);
    past MAX_SCHEMA_BYTES it is not read: unavailable, saying so, never a crash."""
    config = SimConfig(faults={"__schema": [Fault.HUGE_STREAMED]}, huge_body_bytes=size, **SIM_FAST)
    async with running_simulator(config) as sim:
        settings = settings_for(sim, tmp_path, tmp_path / "unused.jsonl")
        async with make_client(settings) as client:
            check, _ = await fetch_schema_check(client)
    assert check.outcome == outcome
    assert MAX_BODY_BYTES < 6 << 20 < MAX_SCHEMA_BYTES < 17 << 20
    if outcome == "unavailable":
        assert f"larger than {MAX_SCHEMA_BYTES} bytes" in check.note


async def test_quote_checks_the_live_schema_before_its_first_create_cart(tmp_path: Path) -> None:
    """quote sends createCart (Strict) too: against a drifted Cart.cost it exits 2, naming the
    field, with only the introspection sent and no --out created."""
    path = write_jsonl(tmp_path / "in.jsonl", [order(f"Q-{n}", ("AMAZON", f"B0QDRIFT{n}")) for n in range(3)])
    out = tmp_path / "out"
    drifted = tmp_path / "drifted.graphql"
    drifted.write_text(rename_field("Cart", "cost", "price"))
    env = {**os.environ, "RYE_API_KEY": KEY}
    async with running_simulator(SimConfig(schema_path=str(drifted), **SIM_FAST)) as sim:
        result = await anyio.run_process(
            [sys.executable, "-m", "batch_runner", "quote", str(path), "--out", str(out),
             "--api-url", sim.url, "--strict-rps", "50"], env=env, check=False)
        assert strict_tier(sim) == []
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "createCart" in stderr
    assert "Cannot query field 'cost' on type 'Cart'" in stderr
    assert not out.exists()
