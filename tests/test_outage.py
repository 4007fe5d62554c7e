"""The outage watch: the gate every request passes, the unreachable notice, the outage budget."""

from __future__ import annotations

import logging

import anyio
import pytest

from batch_runner.core.breaker import BreakerPolicy
from batch_runner.core.stop import StopKind, StopReason
from batch_runner.outage import GateClosed, OutageWatch

POLICY = BreakerPolicy(failures_to_open=2, first_wait_s=0.05, max_wait_s=0.2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def watch_with(clock: FakeClock, stops: list[StopReason], notices: list[str | None]) -> OutageWatch:
    return OutageWatch(budget_s=60.0, policy=POLICY, clock=clock, on_exhausted=stops.append,
                       on_notice=notices.append)


async def open_watch(clock: FakeClock, stops: list[StopReason], notices: list[str | None]) -> OutageWatch:
    watch = watch_with(clock, stops, notices)
    first = await watch.admit("createCart")
    watch.failed(first, "cannot connect: [Errno 111] Connection refused")
    return watch


async def test_the_notice_says_since_when_and_the_last_error_then_clears() -> None:
    """Unreachable: one notice with the time and the error; an answer clears it, logged both ways."""
    clock, stops, notices = FakeClock(), [], []
    watch = await open_watch(clock, stops, notices)
    clock.now += 5
    watch.check()
    [notice] = notices
    assert notice is not None
    assert notice.startswith("API unreachable since ")
    assert notice.endswith("(last error: cannot connect: [Errno 111] Connection refused)")
    watch.check()  # not repeated before REMIND_EVERY_S
    assert len(notices) == 1
    clock.now += 1
    with anyio.fail_after(5):
        probe = await watch.admit("checkoutByCartID")
    assert probe.probe
    watch.answered(probe)
    assert notices[-1] is None
    assert watch.answering()
    assert stops == []


async def test_the_budget_stops_the_run_and_shuts_the_gate(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing answered for the whole budget: one OUTAGE stop naming the error and the resume; no
    request passes afterwards."""
    clock, stops, notices = FakeClock(), [], []
    watch = await open_watch(clock, stops, notices)
    clock.now += 59
    watch.check()
    assert stops == []
    clock.now += 1
    with caplog.at_level(logging.ERROR, logger="batch_runner"):
        watch.check()
    [stop] = stops
    assert stop.kind is StopKind.OUTAGE
    assert "Connection refused" in stop.message
    assert "rerun the same command to resume" in stop.message
    assert "nothing answered for 1m00s" in stop.message
    with pytest.raises(GateClosed):
        await watch.admit("checkoutByCartID")


async def test_waiters_are_released_one_probe_at_a_time_and_all_go_after_an_answer() -> None:
    """While a probe is out nobody else passes; its answer lets every waiter through."""
    clock, stops, notices = FakeClock(), [], []
    watch = watch_with(clock, stops, notices)
    probe = await watch.admit("createCart")
    passed: list[int] = []

    async def request(n: int) -> None:
        permit = await watch.admit("checkoutByCartID")
        assert not permit.probe
        passed.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(request, n)
        await anyio.wait_all_tasks_blocked()
        assert passed == []
        watch.answered(probe)
    assert sorted(passed) == [0, 1, 2, 3, 4]


async def test_a_refused_operation_waiting_at_the_gate_is_cut_short() -> None:
    """The deadline refuses createCart: a createCart waiting for a probe gets GateClosed; a poll
    still passes once the API answers."""
    clock, stops, notices = FakeClock(), [], []
    watch = watch_with(clock, stops, notices)
    probe = await watch.admit("checkoutByCartID")
    outcomes: list[str] = []

    async def create() -> None:
        try:
            await watch.admit("createCart")
            outcomes.append("sent")
        except GateClosed:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        tg.start_soon(create)
        await anyio.wait_all_tasks_blocked()
        watch.refuse(frozenset({"createCart"}))
    assert outcomes == ["refused"]
    watch.answered(probe)
    assert not (await watch.admit("checkoutByCartID")).probe
