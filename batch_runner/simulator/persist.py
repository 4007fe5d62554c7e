"""The simulator's World on disk, so that a demo interrupted and run again finds its own carts.

Real Rye keeps every cart and order between two runs of a night; a simulator that starts empty
would answer CART_NOT_FOUND_ERROR for every cart the journal names. With SimConfig.state_path
set, the Simulator loads the World from that file at start and saves it after every request
that changed it (createCart, submitCart) and at shutdown, so a kill -9 loses nothing the
runner may have seen.

The World keeps times on the monotonic clock, which restarts with the process; on disk they are
wall-clock seconds, turned back into the new process's monotonic time on load. The buyer
identity of a cart is not kept: the runner never reads it back, and no buyer data should lie
in --out beyond the input itself.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from batch_runner.simulator.config import Behaviour
from batch_runner.simulator.world import SimCart, SimOrder, SimStore, World

FORMAT = 1


class StateFileError(Exception):
    """The state file cannot be read back as this simulator's state."""


def _wall(mono: float, clocks: tuple[float, float]) -> float:
    mono_now, wall_now = clocks
    return mono - mono_now + wall_now


def _mono(wall: float, clocks: tuple[float, float]) -> float:
    mono_now, wall_now = clocks
    return wall - wall_now + mono_now


def _cart(cart: SimCart, clocks: tuple[float, float]) -> dict[str, Any]:
    return {
        "id": cart.id, "created": _wall(cart.created_at, clocks),
        # The buyer fields kept: the province sets the tax, so a reloaded cart keeps its price,
        # and a buyerIdentity shown again must have its non-null countryCode (Country!).
        "province": cart.buyer.get("provinceCode"), "country": cart.buyer.get("countryCode"),
        "submit_requests": cart.submit_requests,
        "submissions_processed": cart.submissions_processed,
        "stores": [{"name": s.name, "marketplace": s.marketplace, "lines": s.lines,
                    "request_id": s.request_id, "is_submitted": s.is_submitted,
                    "order_id": s.order_id}
                   for s in cart.stores.values()],
    }


def _order(order: SimOrder, clocks: tuple[float, float]) -> dict[str, Any]:
    started = None if order.started_at is None else _wall(order.started_at, clocks)
    return {"id": order.id, "cart_id": order.cart_id, "store": order.store,
            "marketplace": order.marketplace, "lines": order.lines, "started": started,
            "fate": order.fate.value, "created_wall": order.created_wall}


def dump(world: World, *, mono_now: float, wall_now: float) -> bytes:
    """The World as JSON; `mono_now` and `wall_now` are the same instant on both clocks."""
    clocks = (mono_now, wall_now)
    version, internal, gauss = world.rng.getstate()
    return orjson.dumps({
        "format": FORMAT, "seed": world.config.seed,
        "carts": [_cart(c, clocks) for c in world.carts.values()],
        "orders": [_order(o, clocks) for o in world.orders.values()],
        "used": [[key, behaviour.value, n] for (key, behaviour), n in world.used.items()],
        "gone": world.gone,
        "rng": [version, list(internal), gauss],
    })


def _lines(raw: list[list[Any]]) -> list[tuple[str, str, int]]:
    return [(str(m), str(p), int(q)) for m, p, q in raw]


def _load_cart(raw: dict[str, Any], clocks: tuple[float, float]) -> SimCart:
    stores = {s["name"]: SimStore(name=s["name"], marketplace=s["marketplace"],
                                  lines=_lines(s["lines"]), request_id=str(s["request_id"]),
                                  is_submitted=bool(s["is_submitted"]),
                                  order_id=s["order_id"]) for s in raw["stores"]}
    kept = {"provinceCode": raw.get("province"), "countryCode": raw.get("country")}
    buyer = {k: v for k, v in kept.items() if v} if raw.get("country") else {}
    return SimCart(id=raw["id"], buyer=buyer, stores=stores, created_at=_mono(raw["created"], clocks),
                   submit_requests=int(raw["submit_requests"]),
                   submissions_processed=int(raw["submissions_processed"]))


def _load_order(raw: dict[str, Any], clocks: tuple[float, float]) -> SimOrder:
    started = raw["started"]
    return SimOrder(id=raw["id"], cart_id=raw["cart_id"], store=raw["store"],
                    marketplace=raw["marketplace"], lines=_lines(raw["lines"]),
                    started_at=None if started is None else _mono(float(started), clocks),
                    fate=Behaviour(raw["fate"]), created_wall=float(raw["created_wall"]))


def restore(world: World, data: bytes, *, mono_now: float, wall_now: float) -> None:
    """Put the state in `data` (from dump) into an empty World.

    Raises:
        StateFileError: not a state this simulator wrote, or written with another seed.
    """
    clocks = (mono_now, wall_now)
    try:
        raw = orjson.loads(data)
        if raw.get("format") != FORMAT:
            raise StateFileError(f"format {raw.get('format')!r}, expected {FORMAT}")
        if raw.get("seed") != world.config.seed:
            raise StateFileError(f"written with seed {raw.get('seed')}, not {world.config.seed}")
        carts = [_load_cart(c, clocks) for c in raw["carts"]]
        orders = [_load_order(o, clocks) for o in raw["orders"]]
        used = Counter({(str(k), Behaviour(b)): int(n) for k, b, n in raw["used"]})
        gone = {str(k): str(v) for k, v in raw["gone"].items()}
        version, internal, gauss = raw["rng"]
        rng_state = (int(version), tuple(int(x) for x in internal), gauss)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateFileError(f"not a simulator state ({type(exc).__name__}: {exc})") from None
    world.carts = {c.id: c for c in carts}
    world.orders = {o.id: o for o in orders}
    world.used = used
    world.gone = gone
    world.rng = random.Random()
    world.rng.setstate(rng_state)


def save(world: World, path: Path, *, mono_now: float, wall_now: float) -> None:
    """Write the state atomically: a reader (or the next start) sees the old file or the new."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(dump(world, mono_now=mono_now, wall_now=wall_now))
    os.replace(tmp, path)


def load(world: World, path: Path, *, mono_now: float, wall_now: float) -> bool:
    """Restore the World from `path` if it exists; False when there is no file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    try:
        restore(world, data, mono_now=mono_now, wall_now=wall_now)
    except StateFileError as exc:
        raise StateFileError(f"{path}: {exc}") from None
    return True
