"""The simulator's state survives a restart: the demo resumes against the carts it created."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from batch_runner.simulator import Behaviour, SimConfig
from batch_runner.simulator.persist import StateFileError, dump, load, restore, save
from batch_runner.simulator.world import World

CONFIG = SimConfig(profile="happy", seed=7, start_delay_s=0.0, placement_delay_s=5.0,
                   script={"B0ONCE": Behaviour.PLACE_FAIL_RETRYABLE_ONCE})
ITEMS = {"amazonCartItemsInput": [{"productId": "B0ONCE", "quantity": 1}],
         "shopifyCartItemsInput": [{"variantId": "44000000000001", "quantity": 2}]}


def test_a_restored_world_knows_the_carts_orders_and_spent_once_behaviours() -> None:
    """Carts, stores, Rye orders, submit counts and *_ONCE marks come back; placement goes on in
    wall-clock time across the restart; no buyer data is written."""
    world = World(CONFIG)
    mono, wall = time.monotonic(), time.time()
    cart, _ = world.create_cart(ITEMS, {"email": "buyer@example.org"}, mono)
    world.submit_cart(cart.id, mono, shopper_ip=True)
    data = dump(world, mono_now=mono, wall_now=wall)
    assert b"buyer@example.org" not in data

    later = World(CONFIG)  # a new process: its monotonic clock starts elsewhere
    restore(later, data, mono_now=1000.0, wall_now=wall + 6.0)
    assert later.truth(1000.0).carts.keys() == world.truth(mono).carts.keys()
    assert later.carts[cart.id].submissions_processed == 1
    statuses = sorted(o.status for o in later.truth(1000.0).orders.values())
    assert statuses == ["FAILED", "SUCCEEDED"]  # 6 s after submission, past the 5 s placement
    assert not later.fires("B0ONCE", Behaviour.PLACE_FAIL_RETRYABLE_ONCE)  # spent before the restart
    new_cart, _ = later.create_cart(ITEMS, None, 1000.0)
    assert new_cart.id not in world.carts  # the id generator goes on, it does not start over


def test_save_and_load_through_a_file_and_refuse_a_foreign_one(tmp_path: Path) -> None:
    """No file: a fresh world. A file of another seed or not JSON: a clear StateFileError."""
    path = tmp_path / "sim.json"
    world = World(CONFIG)
    assert load(world, path, mono_now=0.0, wall_now=0.0) is False
    world.create_cart(ITEMS, None, 0.0)
    save(world, path, mono_now=0.0, wall_now=100.0)
    again = World(CONFIG)
    assert load(again, path, mono_now=50.0, wall_now=100.0) is True
    assert again.carts.keys() == world.carts.keys()
    with pytest.raises(StateFileError, match="seed"):
        load(World(SimConfig(seed=8)), path, mono_now=0.0, wall_now=0.0)
    path.write_text("not json")
    with pytest.raises(StateFileError, match=str(path)):
        load(World(CONFIG), path, mono_now=0.0, wall_now=0.0)


def test_a_restored_cart_keeps_only_the_buyer_fields_its_answers_need() -> None:
    """Province (the tax) and country (buyerIdentity.countryCode is Country!) come back, so a
    reloaded cart's price and buyerIdentity hold; name and email never reach the file."""
    world = World(CONFIG)
    mono, wall = time.monotonic(), time.time()
    buyer = {"firstName": "Ada", "email": "ada@example.org", "provinceCode": "CA", "countryCode": "US"}
    cart, _ = world.create_cart(ITEMS, buyer, mono)
    data = dump(world, mono_now=mono, wall_now=wall)
    assert b"ada@example.org" not in data
    assert b"Ada" not in data
    later = World(CONFIG)
    restore(later, data, mono_now=1000.0, wall_now=wall)
    assert later.carts[cart.id].buyer == {"provinceCode": "CA", "countryCode": "US"}
    assert later.cart_view(later.carts[cart.id])["cost"] == world.cart_view(world.carts[cart.id])["cost"]


def test_each_store_s_offer_shows_the_shipping_its_cost_counts() -> None:
    """A store's offer and the cart's cost agree on shipping (one table, pricing.SHIPPING)."""
    world = World(CONFIG)
    cart, _ = world.create_cart(ITEMS, {"countryCode": "US"}, time.monotonic())
    for store in cart.stores.values():
        shown = world.store_view(store)["offer"]["shippingMethods"][0]["total"]["value"]
        assert shown == world.store_cost(cart, store).shipping
