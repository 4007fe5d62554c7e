"""`batch-runner simulate`: the simulator alone, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys

import anyio

from batch_runner.simulator.app import running_simulator, simulator_schema
from batch_runner.simulator.config import PROFILES, RESET_STYLES, SimConfig
from batch_runner.simulator.ratelimit import LIMITERS


def run_standalone(
    *, port: int, profile: str, seed: int, strict_rps: float, default_rps: float,
    shared_strict: bool, placement_delay_s: float = 1.0, schema_path: str | None = None,
    refuse_introspection: int | None = None, limiter: str = "token-bucket",
    reset_style: str = "delta", fault_rate: float = 0.0, clock_offset_s: float = 0.0,
) -> int:
    problem = _bad_option(profile=profile, limiter=limiter, reset_style=reset_style,
                          fault_rate=fault_rate)
    if problem:
        print(f"batch-runner: error: {problem}", file=sys.stderr)  # noqa: T201
        return 2
    config = SimConfig(profile=profile, seed=seed, strict_rps=strict_rps, default_rps=default_rps,
                       shared_strict=shared_strict, port=port, placement_delay_s=placement_delay_s,
                       start_delay_s=min(0.2, placement_delay_s / 2), schema_path=schema_path,
                       refuse_introspection=refuse_introspection, limiter=limiter,
                       reset_style=reset_style, fault_rate=fault_rate,
                       clock_offset_s=clock_offset_s)
    simulator_schema(config)  # a bad --schema file: ConfigError (exit 2) before listening

    async def serve() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with running_simulator(config) as sim:
                print(f"Rye simulator listening on {sim.url} (profile {profile}, seed {seed})",  # noqa: T201
                      flush=True)
                async for _ in signals:
                    print("simulator stopped", flush=True)  # noqa: T201
                    return

    try:
        anyio.run(serve)
    except OSError as exc:
        print(f"batch-runner: error: cannot listen on port {port}: {exc.strerror}", file=sys.stderr)  # noqa: T201
        return 2
    return 0


def _bad_option(*, profile: str, limiter: str, reset_style: str, fault_rate: float) -> str | None:
    if profile not in PROFILES:
        return f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}"
    if limiter not in LIMITERS:
        return f"--limiter {limiter!r}: choose from {', '.join(LIMITERS)}"
    if reset_style not in RESET_STYLES:
        return f"--reset-style {reset_style!r}: choose from {', '.join(RESET_STYLES)}"
    if not 0.0 <= fault_rate < 1.0:
        return f"--fault-rate {fault_rate!r}: a share of requests, from 0 up to (not including) 1"
    return None
