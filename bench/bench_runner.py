"""Throughput and memory benchmark: the real CLI against the built-in simulator, each in its own process.

Prints, per scenario, Strict utilization = (Strict calls ÷ Strict rate) ÷ wall time, 429s per 1,000
Strict calls, polls per order, mean order latency, runner CPU per order and peak RSS, and appends
the figures to bench/results/runner.jsonl so later changes can be compared.

    python bench/bench_runner.py                 # all scenarios (about 10 minutes)
    python bench/bench_runner.py --quick         # 200 orders per scenario, a smoke run
    python bench/bench_runner.py --only cpu      # one scenario by name prefix
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package, also when not installed

from gen_orders import write_orders
from results_file import record

from batch_runner.simulator.process import simulator_process


@dataclass(frozen=True)
class Scenario:
    name: str
    orders: int
    strict_rps: float
    default_rps: float
    profile: str = "happy"
    shared_strict: bool = True
    placement_delay_s: float = 1.0


@dataclass(frozen=True)
class Figures:
    scenario: str
    orders: int
    wall_s: float
    strict_calls: int
    strict_buckets_used: int
    strict_utilization: float
    rate_limited: int
    per_1000_strict_429: float
    polls_per_order: float
    mean_order_latency_s: float
    runner_cpu_ms_per_order: float
    runner_peak_rss_mb: float
    orders_per_s: float
    exit_code: int


def simulator_args(s: Scenario) -> list[str]:
    args = ["--profile", s.profile, "--strict-rps", str(s.strict_rps),
            "--default-rps", str(s.default_rps), "--placement-delay", str(s.placement_delay_s)]
    return [*args, "--per-operation-strict"] if not s.shared_strict else args


def run_scenario(s: Scenario, workdir: Path) -> Figures:
    with simulator_process(*simulator_args(s)) as url:
        scenario_dir = workdir / s.name  # its own parent: identical inputs side by side are refused
        scenario_dir.mkdir()
        orders = scenario_dir / "orders.csv"
        write_orders(orders, s.orders)
        out = scenario_dir / "out"
        env = {**os.environ, "RYE_API_KEY": "bench-key", "RYE_SHOPPER_IP": "203.0.113.9"}
        cmd = [
            sys.executable, "-m", "batch_runner", "run", str(orders), "--out", str(out),
            "--api-url", url,
            "--strict-rps", str(s.strict_rps), "--default-rps", str(s.default_rps),
            "--poll-interval", str(max(0.2, s.placement_delay_s / 4)),
            "--never-started-after", "20", "--stuck-after", "30",
            "--max-in-flight", "400", "--quiet", "--progress", "none",
        ]
        started = time.monotonic()
        with (scenario_dir / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            tail = (scenario_dir / "stderr.txt").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{s.name}: runner exited {code}: {tail}")
        stats = json.loads((out / "run_stats.json").read_text())
        latency = _mean_latency(out / "ledger.jsonl")
    strict = stats["strict_requests"]
    return Figures(
        scenario=s.name, orders=s.orders, wall_s=round(wall, 2), strict_calls=strict,
        strict_buckets_used=_buckets(s, stats),
        strict_utilization=round((strict / (s.strict_rps * _buckets(s, stats))) / wall, 3),
        rate_limited=stats["rate_limited"],
        per_1000_strict_429=round(1000 * stats["rate_limited"] / max(1, strict), 2),
        polls_per_order=round(stats["default_requests"] / s.orders, 2),
        mean_order_latency_s=round(latency, 2),
        runner_cpu_ms_per_order=round(1000 * (usage.ru_utime + usage.ru_stime) / s.orders, 2),
        runner_peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        orders_per_s=round(s.orders / wall, 1),
        exit_code=code,
    )


def _buckets(s: Scenario, stats: dict[str, object]) -> int:
    """Strict capacity in buckets: two when per-operation and the runner learned it."""
    return 1 if s.shared_strict or stats.get("strict_shared") is not False else 2


def _mean_latency(ledger: Path) -> float:
    from datetime import datetime

    total = count = 0.0
    for line in ledger.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("started_at") and rec.get("finished_at") and rec["status"] != "INVALID":
            a = datetime.fromisoformat(rec["started_at"])
            b = datetime.fromisoformat(rec["finished_at"])
            total += (b - a).total_seconds()
            count += 1
    return total / count if count else 0.0


def validate_memory(workdir: Path, rows: int) -> dict[str, float]:
    big = workdir / "big.csv"
    write_orders(big, rows)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "batch_runner", "validate", str(big)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return {"validate_orders": rows, "validate_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "validate_wall_s": round(time.monotonic() - started, 1)}


def scenarios(quick: bool) -> list[Scenario]:
    n = 200 if quick else 1000
    return [
        Scenario("shared-happy", n, 20, 200),
        Scenario("per-op-happy", n, 20, 200, shared_strict=False),
        Scenario("shared-realistic", n, 20, 200, profile="realistic"),
        Scenario("per-op-realistic", n, 20, 200, profile="realistic", shared_strict=False),
        Scenario("cpu-bound", 2000 if quick else 5000, 5000, 20000, placement_delay_s=0.2),
        Scenario("rss-5000", 5000, 5000, 20000, placement_delay_s=0.2),
        Scenario("rss-20000", 20000 if not quick else 5000, 5000, 20000, placement_delay_s=0.2),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--validate-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in scenarios(args.quick):
            if scenario.name.startswith(args.only):
                record("runner", asdict(run_scenario(scenario, Path(tmp))))
        if not args.only or args.only.startswith("validate"):
            record("runner", {"scenario": "validate-memory", **validate_memory(Path(tmp), args.validate_rows)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
