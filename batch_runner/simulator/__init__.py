"""The built-in Rye simulator: a real GraphQL server over aiohttp, for the demo, tests and benchmarks."""

from batch_runner.simulator.app import RequestLogEntry, Simulator, running_simulator
from batch_runner.simulator.config import DEMO_SCRIPT, PROFILES, Behaviour, Fault, SimConfig
from batch_runner.simulator.world import GroundTruth

__all__ = [
    "DEMO_SCRIPT", "PROFILES", "Behaviour", "Fault", "GroundTruth", "RequestLogEntry", "SimConfig",
    "Simulator", "running_simulator",
]
