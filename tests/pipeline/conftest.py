"""Helpers to drive the real runner against the real simulator over loopback."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from batch_runner import cli
from batch_runner.config import Settings
from batch_runner.core.model import LedgerRecord
from batch_runner.ledger import read_ledger
from batch_runner.simulator import Simulator

BUYER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "2125550100",
    "address1": "1460 Broadway",
    "city": "New York",
    "province_code": "NY",
    "postal_code": "10036",
    "country_code": "US",
}

#: Thresholds small enough for tests, large enough for the simulator's delays below.
FAST = {
    "never_started_after_s": 1.0,
    "stuck_after_s": 1.5,
    "poll_interval_s": 0.1,
    "strict_rps": 50.0,
    "default_rps": 500.0,
    "quiet": True,
    "progress": "none",
}
SIM_FAST = {
    "start_delay_s": 0.05,
    "placement_delay_s": 0.2,
    "strict_rps": 50.0,
    "default_rps": 500.0,
}


def order(
    order_id: str, *items: tuple[str, str] | tuple[str, str, int], **extra: Any
) -> dict[str, Any]:
    """A JSONL order with the given (marketplace, product_id[, quantity]) items."""
    lines = [
        {"marketplace": m, "product_id": p, "quantity": rest[0] if rest else 1}
        for m, p, *rest in items
    ]
    return {"order_id": order_id, "buyer": BUYER, "items": lines, **extra}


def write_jsonl(path: Path, orders: Iterable[Mapping[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in orders))
    return path


def settings_for(sim: Simulator, tmp_path: Path, input_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {**FAST, **overrides}
    return replace(
        Settings(),
        input=input_path,
        out=tmp_path / "out",
        api_url=sim.url,
        api_key="test-key-123",
        shopper_ip="203.0.113.7",
        **values,
    )


async def run(settings: Settings) -> tuple[int, list[LedgerRecord]]:
    code = await cli.run_job(settings)
    assert settings.out is not None
    return code, list(read_ledger(settings.out / "ledger.jsonl"))


def strict_requests(sim: Simulator, cart_id: str | None = None) -> list[Any]:
    return [
        r
        for r in sim.request_log()
        if r.operation in ("createCart", "submitCart") and (cart_id is None or r.cart_id == cart_id)
    ]
