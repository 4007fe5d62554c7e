"""A semicolon CSV and a tab CSV, as European spreadsheets save them, run like a comma CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner.core.model import OrderStatus
from batch_runner.simulator import SimConfig, running_simulator
from tests.pipeline.conftest import SIM_FAST, run, settings_for

HEADER = ["order_id", "marketplace", "product_id", "quantity", "first_name", "last_name", "email",
          "address1", "city", "postal_code", "country_code"]
BUYER = ["Zoë", "Müller", "z@example.com", "Hauptstraße 1, Hof", "Berlin", "10115", "DE"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
async def test_a_semicolon_or_tab_csv_runs_and_places_every_order(
    tmp_path: Path, delimiter: str
) -> None:
    """Each order of the file is placed, with the buyer's fields read whole (a comma inside)."""
    rows = [["A-1", "AMAZON", "B00A2KD8NY", "1", *BUYER], ["A-1", "SHOPIFY", "44000000000101", "2", *BUYER],
            ["B-2", "AMAZON", "B07XJ8C8F5", "3", *BUYER]]
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(
        delimiter.join(row) for row in [HEADER, *rows]).encode() + b"\r\n")
    async with running_simulator(SimConfig(profile="happy", seed=1, **SIM_FAST)) as sim:
        code, ledger = await run(settings_for(sim, tmp_path, path))
        truth = sim.truth()
    assert code == 0
    assert sorted(r.order_id or "" for r in ledger) == ["A-1", "B-2"]
    assert all(r.status is OrderStatus.PLACED for r in ledger)
    assert sorted(line for cart in truth.carts.values() for line in cart.items) == sorted(
        [("AMAZON", "B00A2KD8NY", 1), ("SHOPIFY", "44000000000101", 2), ("AMAZON", "B07XJ8C8F5", 3)])
    assert {c.buyer["address1"] for c in sim.world.carts.values()} == {"Hauptstraße 1, Hof"}
