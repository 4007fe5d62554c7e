"""Crash torture: run the real CLI as a subprocess, SIGKILL it at seeded random instants, rerun
into the same --out until a run finishes by itself, then check the simulator's ground truth.

Used by tests/crash/test_torture.py (short version in the default suite, long one with -m slow)
and runnable by hand:  python -m tests.crash.torture --orders 300 --kills 20 --seed 7

With `--sim-strict-rps` equal to `--strict-rps` the Strict tier is as tight on the server as the
runner thinks, and the report counts the 429s each run drew (`rate_limited_per_run`): the gentle
start's figure, e.g.
    python -m tests.crash.torture --orders 200 --kills 10 --strict-rps 20 --sim-strict-rps 20 \
        --limiter fixed-window --profile happy
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_runner.simulator.process import simulator_process

BUYER = {
    "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
    "address1": "1 Navy Yard", "city": "Arlington", "province_code": "VA",
    "postal_code": "22202", "country_code": "US",
}


@dataclass
class TortureReport:
    kills: int = 0
    runs: int = 0
    final_exit: int | None = None
    orders: int = 0
    problems: list[str] = field(default_factory=list)
    ledger_status: dict[str, int] = field(default_factory=dict)
    budget_exit: int | None = None  #: exit status of the run that ended by itself under --budget
    placed_under_budget: int | None = None  #: truth's placed total then, in cents
    #: Per run (each restart, then the last run): 429s the simulator gave and Strict requests.
    rate_limited_per_run: list[int] = field(default_factory=list)
    strict_per_run: list[int] = field(default_factory=list)


def write_orders(path: Path, n: int, rng: random.Random) -> None:
    """Orders of 1-3 items with product ids unique to each order, so truth maps back to orders."""
    with path.open("w") as out:
        for i in range(n):
            items = []
            for j in range(rng.randint(1, 3)):
                if rng.random() < 0.5:
                    items.append({"marketplace": "AMAZON", "product_id": f"B0T{i:05d}{j}", "quantity": 1})
                else:
                    items.append({"marketplace": "SHOPIFY", "product_id": f"9{i:08d}{j}", "quantity": 1})
            out.write(json.dumps({"order_id": f"T-{i}", "buyer": BUYER, "items": items}) + "\n")


def truth(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.replace("/v1/query", "/_sim/truth"), timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def sim_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url.replace("/v1/query", "/_sim/stats"), timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _count_run(url: str, before: dict[str, int], report: TortureReport) -> dict[str, int]:
    after = sim_stats(url)
    limited = sum(after.get(k, 0) - before.get(k, 0) for k in after if k.endswith("_429"))
    report.rate_limited_per_run.append(limited)
    report.strict_per_run.append(after.get("Strict", 0) - before.get("Strict", 0))
    return after


def run_until_done(input_path: Path, out: Path, url: str, *, kills: int, seed: int,
                   max_kill_after_s: float, strict_rps: float, report: TortureReport,
                   budget: str | None = None) -> None:
    """Kill -9 and rerun until a run ends by itself (exit 0/1, or 3 when stopped by `budget`)."""
    rng = random.Random(seed)
    env = {**os.environ, "RYE_API_KEY": "torture-key", "RYE_SHOPPER_IP": "203.0.113.5"}
    cmd = [sys.executable, "-m", "batch_runner", "run", str(input_path), "--out", str(out),
           "--api-url", url, "--strict-rps", str(strict_rps),
           "--default-rps", "2000", "--poll-interval", "0.2", "--never-started-after", "1.5",
           "--stuck-after", "2.5", "--quiet", "--progress", "none"]
    if budget is not None:
        cmd += ["--budget", *budget.split()]
    accepted = (0, 1, 3) if budget is not None else (0, 1)
    counted = sim_stats(url)
    while True:
        report.runs += 1
        errors = out.parent / f"stderr-{report.runs}.txt"
        with errors.open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            if report.kills < kills:
                try:
                    proc.wait(timeout=rng.uniform(0.2, max_kill_after_s))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    report.kills += 1
                    counted = _count_run(url, counted, report)
                    continue
            else:
                proc.wait(timeout=600)
        counted = _count_run(url, counted, report)
        stderr = errors.read_text(errors="replace")
        if proc.returncode not in accepted:
            report.problems.append(f"run {report.runs} exited {proc.returncode}: {stderr[-1500:]}")
            return
        report.final_exit = proc.returncode
        return


def check(input_path: Path, out: Path, world: dict[str, Any], report: TortureReport) -> None:
    orders = [json.loads(line) for line in input_path.read_text().splitlines()]
    report.orders = len(orders)
    ledger = [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines()]
    ids = Counter(r["order_id"] for r in ledger)
    for o in orders:
        if ids[o["order_id"]] != 1:
            report.problems.append(f"order {o['order_id']} appears {ids[o['order_id']]} times in the ledger")
    report.ledger_status = dict(Counter(r["status"] for r in ledger))

    placed_by_product = _check_placed_once(orders, world, report)
    _check_generations(out, world, report)
    _check_ledger_matches_truth(ledger, placed_by_product, report)


def _check_placed_once(orders: list[Any], world: dict[str, Any], report: TortureReport) -> Counter[str]:
    product_order = {i["product_id"]: o["order_id"] for o in orders for i in o["items"]}
    placed_by_product: Counter[str] = Counter()
    for rye_order in world["orders"].values():
        if rye_order["status"] == "SUCCEEDED":
            for item in rye_order["items"]:
                placed_by_product[_pid(item)] += 1
    for product, n in placed_by_product.items():
        if n > 1:
            report.problems.append(f"product {product} of {product_order.get(product)} placed {n} times")
    return placed_by_product


def _check_generations(out: Path, world: dict[str, Any], report: TortureReport) -> None:
    # No two carts of the same generation of one order both submitted (journal maps cart -> order, gen).
    carts_by_gen: dict[tuple[str, int], set[str]] = defaultdict(set)
    for line in (out / "journal.jsonl").read_text().splitlines()[1:]:
        rec = json.loads(line)
        if rec["t"] == "created" and rec.get("cart"):
            carts_by_gen[(rec["o"], rec["g"])].add(rec["cart"])
    for (order_id, gen), cart_ids in carts_by_gen.items():
        submitted = [c for c in cart_ids if world["carts"].get(c, {}).get("submissions_processed", 0)]
        if len(submitted) > 1:
            report.problems.append(f"{order_id} generation {gen}: carts {submitted} all submitted")


def _check_ledger_matches_truth(
    ledger: list[Any], placed_by_product: Counter[str], report: TortureReport
) -> None:
    # Every ledger PLACED item is placed in truth, and every placed item is PLACED in the ledger.
    for rec in ledger:
        for item in rec["items"]:
            placed = placed_by_product[item["product_id"]] == 1
            if (item["outcome"] == "PLACED") != placed:
                report.problems.append(
                    f"{rec['order_id']} {item['product_id']}: ledger {item['outcome']}, truth placed={placed}"
                )


def _pid(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("product_id") or item.get("productId") or item.get("variantId"))
    return str(item[1])  # (marketplace, product_id, quantity)


def placed_total(world: dict[str, Any]) -> int:
    """What the simulator placed, in cents (every cart of the torture is priced in USD)."""
    return sum(int(o["total"]) for o in world["orders"].values() if o["status"] == "SUCCEEDED")


def torture(workdir: Path, *, orders: int, kills: int, seed: int, max_kill_after_s: float,
            strict_rps: float = 200.0, sim_strict_rps: float = 400.0,
            limiter: str = "token-bucket", profile: str = "chaos",
            budget_cents: int | None = None) -> TortureReport:
    """With `budget_cents`, the kill loop runs under --budget; its truth must stay within it.
    Then one rerun without a budget finishes the rest, and the usual checks follow."""
    report = TortureReport()
    input_path = workdir / "orders.jsonl"
    write_orders(input_path, orders, random.Random(seed))
    sim_args = ("--profile", profile, "--seed", str(seed), "--strict-rps", str(sim_strict_rps),
                "--default-rps", "2000", "--placement-delay", "0.4", "--limiter", limiter)
    with simulator_process(*sim_args) as url:
        common = {"seed": seed, "max_kill_after_s": max_kill_after_s, "strict_rps": strict_rps,
                  "report": report}
        if budget_cents is not None:
            budget = f"{budget_cents / 100:.2f} USD"
            run_until_done(input_path, workdir / "out", url, kills=kills, budget=budget, **common)
            report.budget_exit = report.final_exit
            report.placed_under_budget = placed_total(truth(url))
            if report.placed_under_budget > budget_cents:
                report.problems.append(f"placed {report.placed_under_budget} cents, budget {budget_cents}")
            kills, report.final_exit = report.kills, None  # no more kills: finish the rest
        if not report.problems:
            run_until_done(input_path, workdir / "out", url, kills=kills, **common)  # type: ignore[arg-type]
        if report.final_exit is not None:
            check(input_path, workdir / "out", truth(url), report)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description="kill -9 torture of batch-runner")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-kill-after", type=float, default=4.0)
    parser.add_argument("--strict-rps", type=float, default=40.0)
    parser.add_argument("--sim-strict-rps", type=float, default=400.0,
                        help="the simulator's Strict rate (400: never the limit)")
    parser.add_argument("--limiter", default="token-bucket", help="token-bucket or fixed-window")
    parser.add_argument("--profile", default="chaos")
    parser.add_argument("--budget-cents", type=int, default=None,
                        help="kill loop under --budget; the placed total must stay within it")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        report = torture(workdir, orders=args.orders, kills=args.kills, seed=args.seed,
                         max_kill_after_s=args.max_kill_after, strict_rps=args.strict_rps,
                         sim_strict_rps=args.sim_strict_rps, limiter=args.limiter,
                         profile=args.profile, budget_cents=args.budget_cents)
        print(json.dumps({**report.__dict__, "wall_s": round(time.monotonic() - started, 1)}, indent=1))
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
