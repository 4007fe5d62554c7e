"""`batch-runner demo`, interrupted and run again into the same --out, ends like an uninterrupted demo.

The demo's simulator keeps its carts in --out, so the rerun resumes them: no CART_NOT_FOUND,
each order placed once, and the same outcomes as a demo that was never stopped.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import orjson

from batch_runner.cli import DEMO_SIM_STATE
from batch_runner.simulator import DEMO_SCRIPT, SimConfig
from batch_runner.simulator.persist import load
from batch_runner.simulator.world import World

#: What the uninterrupted demo ends with (README, "What the demo just did").
DEMO_OUTCOME = {"PLACED": 18, "NEEDS_ATTENTION": 3, "PARTIAL": 1, "FAILED": 2, "INVALID": 1}


async def test_an_interrupted_demo_resumes_against_its_own_carts(tmp_path: Path) -> None:
    """SIGINT once orders are in flight, the same command again: every order once, none lost."""
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "batch_runner", "demo", "--out", str(out), "--quiet"]
    proc = await anyio.open_process(cmd)
    ledger = out / "ledger.jsonl"
    with anyio.fail_after(30):
        while not ledger.exists() or len(ledger.read_bytes().splitlines()) < 2:  # noqa: ASYNC110 (another process writes it)
            await anyio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    first = await proc.wait()
    await proc.aclose()
    stopped_with = len(ledger.read_bytes().splitlines())
    second = await anyio.run_process(cmd, check=False)

    records = [orjson.loads(line) for line in ledger.read_bytes().splitlines()]
    assert first == 3
    assert stopped_with < 25
    assert b"resumed: it still knows this --out's carts" in second.stdout
    assert second.returncode == 1, second.stderr
    assert len(records) == 25
    assert len({r["order_id"] for r in records}) == 25
    assert b"CART_NOT_FOUND" not in ledger.read_bytes()
    assert Counter(r["status"] for r in records) == DEMO_OUTCOME

    world = World(SimConfig(profile="happy", seed=7, script=DEMO_SCRIPT))
    assert load(world, out / DEMO_SIM_STATE, mono_now=0.0, wall_now=time.time())
    placed_in_truth = Counter(line[1] for o in world.truth(3600.0).orders.values()
                              if o.status == "SUCCEEDED" for line in o.items)
    placed_in_ledger = Counter(i["product_id"] for r in records for i in r["items"]
                               if i["outcome"] == "PLACED")
    assert placed_in_truth == placed_in_ledger  # each placed item placed once, as the ledger says
