"""Throughput and memory benchmark: the real CLI against the built-in simulator, each in its own process.

Prints, per scenario, Strict utilization = (Strict calls ÷ Strict rate) ÷ wall time, 429s per 1,000
Strict calls, polls per order, the time from a cart's submission to its final state against the
simulator's placement delay, the tail after the last Strict call, mean order latency, runner CPU
per order and peak RSS, and appends the figures to bench/results/runner.jsonl so later changes
can be compared.

The simulator runs Rye's clock fast: an order starts 0.2 s after submission and is placed 1 s
after it (Rye: seconds, then minutes). The runner's timers are scaled with it: never started
after 2 s, stuck after 4 s (defaults 300 s and 600 s). With unscaled timers a 1,000-order run
would end in a tail of lone resubmissions waiting out their timers, measuring the timers rather
than how busy the runner keeps the Strict bucket; `tail_s` shows what is left of that tail.

The rate-limit matrix runs every combination of the server's limiter (token bucket `tb`, fixed
windows aligned to wall-clock seconds `fw`), its Strict buckets (one shared, or one per
operation, learned by the runner; `given`: per operation with `--strict-buckets per-operation`),
the happy or realistic mix, and no or 5% transport faults (`-f5`). Utilization is measured
against the busiest bucket *the server has*, whatever the runner learned.

    python bench/bench_runner.py                 # the matrix and the CPU/RSS scenarios (about 30 minutes)
    python bench/bench_runner.py --quick         # 200 orders per scenario, a smoke run
    python bench/bench_runner.py --only fw-      # scenarios by name prefix
    python bench/bench_runner.py --matrix        # only the rate-limit matrix
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
from typing import Any

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
    limiter: str = "token-bucket"
    fault_rate: float = 0.0
    clock_offset_s: float = 0.0  #: the server's clock ahead of the runner's (fixed windows)
    strict_buckets: str = "auto"  #: the runner's --strict-buckets
    placement_delay_s: float = 1.0
    never_started_after_s: float = 2.0
    stuck_after_s: float = 4.0


@dataclass(frozen=True)
class Figures:
    scenario: str
    orders: int
    limiter: str
    server_buckets: str
    strict_buckets: str
    fault_rate: float
    learned_shared: bool | None
    learned_shape: str | None
    wall_s: float
    strict_calls: int
    strict_buckets_used: int
    strict_utilization: float  #: of every Strict bucket's capacity together
    bottleneck_utilization: float  #: of the busiest Strict bucket: the physical limit's measure
    rate_limited: int
    per_1000_strict_429: float
    polls_per_order: float
    placement_delay_s: float
    submit_to_final_mean_s: float  #: carts placed on their first submission
    submit_to_final_p95_s: float
    tail_s: float  #: from the last Strict call to the end of the run
    mean_order_latency_s: float
    runner_cpu_ms_per_order: float
    runner_peak_rss_mb: float
    orders_per_s: float
    exit_code: int


def simulator_args(s: Scenario) -> list[str]:
    args = ["--profile", s.profile, "--strict-rps", str(s.strict_rps),
            "--default-rps", str(s.default_rps), "--placement-delay", str(s.placement_delay_s),
            "--limiter", s.limiter, "--fault-rate", str(s.fault_rate),
            "--clock-offset", str(s.clock_offset_s)]
    return [*args, "--per-operation-strict"] if not s.shared_strict else args


def runner_cmd(s: Scenario, orders: Path, out: Path, url: str) -> list[str]:
    return [
        sys.executable, "-m", "batch_runner", "run", str(orders), "--out", str(out),
        "--api-url", url,
        "--strict-rps", str(s.strict_rps), "--default-rps", str(s.default_rps),
        "--poll-interval", str(max(0.2, s.placement_delay_s / 4)),
        "--never-started-after", str(s.never_started_after_s),
        "--stuck-after", str(s.stuck_after_s),
        "--max-in-flight", "400", "--quiet", "--progress", "none",
        "--strict-buckets", s.strict_buckets,
    ]


def run_scenario(s: Scenario, workdir: Path) -> Figures:
    with simulator_process(*simulator_args(s)) as url:
        scenario_dir = workdir / s.name  # its own parent: identical inputs side by side are refused
        scenario_dir.mkdir()
        orders = scenario_dir / "orders.csv"
        write_orders(orders, s.orders)
        out = scenario_dir / "out"
        env = {**os.environ, "RYE_API_KEY": "bench-key", "RYE_SHOPPER_IP": "203.0.113.9"}
        cmd = runner_cmd(s, orders, out, url)
        started = time.monotonic()
        with (scenario_dir / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        ended_unix = time.time()
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            tail = (scenario_dir / "stderr.txt").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{s.name}: runner exited {code}: {tail}")
        stats = json.loads((out / "run_stats.json").read_text())
        latency = _mean_latency(out / "ledger.jsonl")
        timing = _journal_timing(out / "journal.jsonl")
    strict = stats["strict_requests"]
    placed = sorted(timing.submit_to_final)
    return Figures(
        scenario=s.name, orders=s.orders, limiter=s.limiter,
        server_buckets="shared" if s.shared_strict else "per-operation",
        strict_buckets=s.strict_buckets, fault_rate=s.fault_rate,
        learned_shared=stats.get("strict_shared"), learned_shape=stats.get("strict_shape"),
        wall_s=round(wall, 2), strict_calls=strict,
        strict_buckets_used=_buckets(s, stats),
        strict_utilization=round((strict / (s.strict_rps * _buckets(s, stats))) / wall, 3),
        bottleneck_utilization=round(_busiest_bucket(s, stats) / s.strict_rps / wall, 3),
        rate_limited=stats["rate_limited"],
        per_1000_strict_429=round(1000 * stats["rate_limited"] / max(1, strict), 2),
        polls_per_order=round(stats["default_requests"] / s.orders, 2),
        placement_delay_s=s.placement_delay_s,
        submit_to_final_mean_s=round(sum(placed) / len(placed), 2) if placed else 0.0,
        submit_to_final_p95_s=round(placed[int(0.95 * (len(placed) - 1))], 2) if placed else 0.0,
        tail_s=round(ended_unix - timing.last_strict_unix, 2),
        mean_order_latency_s=round(latency, 2),
        runner_cpu_ms_per_order=round(1000 * (usage.ru_utime + usage.ru_stime) / s.orders, 2),
        runner_peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        orders_per_s=round(s.orders / wall, 1),
        exit_code=code,
    )


def _buckets(s: Scenario, stats: dict[str, object]) -> int:
    """Strict capacity in buckets as the server has them: two when per operation, whether or
    not the runner learned it (a runner that did not wastes half)."""
    return 1 if s.shared_strict else 2


@dataclass(frozen=True)
class _Timing:
    last_strict_unix: float
    submit_to_final: list[float]


def _journal_timing(journal: Path) -> _Timing:
    """From the run's journal: when the last Strict call went, and for each cart placed on its
    only submission, the seconds from that submission to the cart's final state."""
    last_strict = 0.0
    submits: dict[tuple[str, int], list[float]] = {}
    to_final = []
    for line in journal.read_text().splitlines():
        rec = json.loads(line)
        kind = rec.get("t")
        if kind in ("create", "submit"):
            last_strict = max(last_strict, rec["ts"])
        if kind == "submit":
            submits.setdefault((rec["o"], rec["g"]), []).append(rec["ts"])
        elif kind == "cart_done" and "ts" in rec:
            sent = submits.get((rec["o"], rec["g"]), [])
            if len(sent) == 1 and rec["results"] and all(r[1] == "PLACED" for r in rec["results"]):
                to_final.append(rec["ts"] - sent[0])
    return _Timing(last_strict, to_final)


def _busiest_bucket(s: Scenario, stats: dict[str, Any]) -> int:
    """Strict calls on the busiest bucket: every call when shared, else the larger operation's.
    With a bucket per operation the night cannot end before that bucket's calls are sent."""
    by_operation = stats.get("strict_by_operation") or {}
    if _buckets(s, stats) == 1 or not by_operation:
        return int(stats["strict_requests"])
    return max(int(n) for n in by_operation.values())


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


def matrix(n: int) -> list[Scenario]:
    """Every limiter shape x Strict sharing x mix x transport faults, at Strict 20/s, Default 200/s."""
    out = []
    for limiter, short in (("token-bucket", "tb"), ("fixed-window", "fw")):
        for sharing in ("shared", "perop", "given"):
            for profile in ("happy", "realistic"):
                for faults in (0.0, 0.05):
                    if sharing == "given" and faults:
                        continue
                    name = f"{short}-{sharing}-{profile}" + ("-f5" if faults else "")
                    out.append(Scenario(
                        name, n, 20, 200, profile=profile, shared_strict=sharing == "shared",
                        limiter=limiter, fault_rate=faults,
                        strict_buckets="per-operation" if sharing == "given" else "auto"))
    for offset in (0.3, -0.45):  # the server's clock off ours: its windows start mid-second
        for sharing in ("shared", "perop"):
            out.append(Scenario(f"fw-{sharing}-happy-skew{offset:+g}", n, 20, 200,
                                shared_strict=sharing == "shared", limiter="fixed-window",
                                clock_offset_s=offset))
    return out


def scenarios(quick: bool) -> list[Scenario]:
    n = 200 if quick else 1000
    return [
        *matrix(n),
        Scenario("cpu-bound", 2000 if quick else 5000, 5000, 20000, placement_delay_s=0.2),
        Scenario("rss-5000", 5000, 5000, 20000, placement_delay_s=0.2),
        Scenario("rss-20000", 20000 if not quick else 5000, 5000, 20000, placement_delay_s=0.2),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--matrix", action="store_true", help="only the rate-limit matrix")
    parser.add_argument("--orders", type=int, default=0, help="orders per matrix scenario")
    parser.add_argument("--validate-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    chosen = matrix(args.orders or (200 if args.quick else 1000)) if args.matrix else scenarios(args.quick)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in chosen:
            if scenario.name.startswith(args.only):
                figures = run_scenario(scenario, Path(tmp))
                record("runner", {**asdict(figures), "load": os.getloadavg()[0]})
                rows.append(figures)
        _summary(rows)
        if not args.matrix and (not args.only or args.only.startswith("validate")):
            record("runner", {"scenario": "validate-memory", **validate_memory(Path(tmp), args.validate_rows)})
    return 0


def _summary(rows: list[Figures]) -> None:
    """The matrix as a table: utilization of the busiest bucket, 429s per 1,000 Strict calls, tail."""
    print(f"{'scenario':28} {'util':>6} {'429/1k':>7} {'tail_s':>7} {'wall_s':>7} learned")
    for f in rows:
        print(f"{f.scenario:28} {f.bottleneck_utilization:6.3f} {f.per_1000_strict_429:7.2f} "
              f"{f.tail_s:7.2f} {f.wall_s:7.1f} shared={f.learned_shared} shape={f.learned_shape}")


if __name__ == "__main__":
    raise SystemExit(main())
