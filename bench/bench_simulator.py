"""How many requests per second the simulator sustains on one core (validation on).

Starts `batch-runner simulate` in its own process with tiers set out of the way, then drives a
mix of createCart, submitCart and checkoutByCartID (1 : 1 : 3) from this process with aiohttp,
and prints requests/s. Appends the figure to bench/results/simulator.jsonl.

    python bench/bench_simulator.py [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package, also when not installed

from results_file import record

from batch_runner import queries
from batch_runner.simulator.process import simulator_process

HEADERS = {"Authorization": "Basic " + base64.b64encode(b"bench:").decode(), "Rye-Shopper-IP": "1.2.3.4"}
BUYER = {"firstName": "A", "lastName": "B", "address1": "1", "city": "C", "postalCode": "1", "countryCode": "US"}


async def worker(session: aiohttp.ClientSession, url: str, stop_at: float, counts: list[int], n: int) -> None:
    i = 0
    while time.monotonic() < stop_at:
        i += 1
        items = {"amazonCartItemsInput": [{"productId": f"B{n:03d}{i:07d}", "quantity": 1}]}
        calls = [(queries.CREATE_CART, {"input": {"items": items, "buyerIdentity": BUYER}})]
        async with session.post(url, json={"query": calls[0][0], "variables": calls[0][1]}, headers=HEADERS) as r:
            cart_id = (await r.json())["data"]["createCart"]["cart"]["id"]
        counts[0] += 1
        follow = [(queries.SUBMIT_CART, {"input": {"id": cart_id}})]
        follow += [(queries.CHECKOUT_BY_CART_ID, {"cartID": cart_id})] * 3
        for query, variables in follow:
            async with session.post(url, json={"query": query, "variables": variables}, headers=HEADERS) as r:
                await r.read()
                assert r.status == 200, r.status
            counts[0] += 1


async def drive(url: str, seconds: float, concurrency: int) -> float:
    counts = [0]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(worker(session, url, stop_at, counts, n) for n in range(concurrency)))
        return counts[0] / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with simulator_process("--profile", "happy", "--strict-rps", "1000000",
                           "--default-rps", "1000000") as url:
        rate = asyncio.run(drive(url, args.seconds, args.concurrency))
    record("simulator", {"requests_per_s": round(rate, 1), "mix": "create:submit:poll 1:1:3",
                         "concurrency": args.concurrency})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
