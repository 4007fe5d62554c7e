"""The run: load → schedule → cart flows → ledger, inside one anyio task group.

Orders stream from the loader; at most `max_in_flight` are being worked at once. Each order's
carts are driven by CartFlow; its ledger line is written the moment it is final. A stop request
(first SIGINT/SIGTERM, the outage budget, the end of the deadline's grace) lets in-flight
requests finish, journals them, and ends without starting anything new; whatever is unfinished
resumes from the journal next time. A refusal (the deadline, a failure streak) is a softer stop:
the refused operations are no longer sent, everything else goes on to its end.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

import batch_runner.ledger as ledger_io
from batch_runner.cart_flow import CartFlow, CartOutcome, FlowSettings
from batch_runner.client import RyeClient
from batch_runner.config import Settings
from batch_runner.core.budget import Book
from batch_runner.core.model import (
    CartRecord,
    InvalidInfo,
    InvalidOrder,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Order,
    OrderStatus,
)
from batch_runner.core.regroup import replacement
from batch_runner.core.rollup import order_status
from batch_runner.core.spending import summarize_money
from batch_runner.core.stop import StopKind, StopReason
from batch_runner.journal import CartState, Journal, OrderState, cut_torn_tail
from batch_runner.limits import TierLimits
from batch_runner.load import iter_orders
from batch_runner.load_fields import describe
from batch_runner.night_guards import NightGuards
from batch_runner.outage import GateClosed, OutageWatch
from batch_runner.progress import Progress
from batch_runner.schema_check import SchemaCheck
from batch_runner.spend import BudgetReached, SpendGuard, limits_from

log = logging.getLogger("batch_runner")

#: What the budget, once reached, refuses: new carts (a cart that fits may still be submitted).
NO_NEW_CARTS = frozenset({"createCart"})

#: How often throughput is sampled for the report.
SAMPLE_EVERY_S = 2.0


class _Stopping(Exception):
    """Internal: the run is stopping; the order is left for the next run to resume."""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class RunResult:
    counts: dict[OrderStatus, int] = field(default_factory=dict)
    interrupted: bool = False  #: stopped early, for any reason in `stop_reason`
    out_dir: Path = Path()
    stop_reason: StopReason | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return self.stop_reason.exit_code if self.stop_reason else 3
        not_placed = sum(n for status, n in self.counts.items() if status is not OrderStatus.PLACED)
        return 1 if not_placed else 0


class Runner:
    def __init__(self, settings: Settings, *, progress: Progress, seed: int | None = None,
                 schema_check: SchemaCheck | None = None) -> None:
        assert settings.input is not None
        assert settings.out is not None
        self.settings = settings
        self.input: Path = settings.input
        self.out: Path = settings.out
        self.progress = progress
        self.rng = random.Random(seed)
        self.schema_check = schema_check  #: the live-schema check made before the run, if any
        self.flow_settings = FlowSettings.of(settings)
        self.limits_spend = limits_from(settings.max_order_total, settings.budget)
        self.guard = SpendGuard(self.limits_spend, Book())
        self._stopping = anyio.Event()
        self.stop_reason: StopReason | None = None
        self._refused: frozenset[str] = frozenset()  #: operations no longer sent
        self._left_unfinished = False  #: an order was left for the next run
        self.outage = OutageWatch(budget_s=settings.outage_budget_s, on_exhausted=self.stop,
                                  on_notice=progress.outage)
        self.guards = NightGuards(
            deadline_text=settings.deadline, deadline_grace_s=settings.deadline_grace_s,
            stop_after_failures=settings.stop_after_failures, refuse=self.refuse, stop=self.stop,
        )
        self._done = 0
        self._counts: dict[OrderStatus, int] = {}
        self._replacements = 0
        self._samples: list[tuple[float, int]] = []
        self._at_start = 0  #: ledger lines from earlier runs into this --out
        self._t0 = time.monotonic()

    def stop(self, reason: StopReason | None = None) -> None:
        """Stop starting new work; in-flight requests finish and are journaled.

        The first reason given is the one reported; a bare stop() is an interruption.
        """
        if self.stop_reason is None:
            self.stop_reason = reason or StopReason(kind=StopKind.INTERRUPTED,
                                                    message="interrupted by a signal")
        self._stopping.set()
        self.outage.shut()

    def refuse(self, reason: StopReason, operations: frozenset[str]) -> None:
        """Send no more of `operations` (createCart: no new order starts); the rest goes on."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._refused |= operations
        self.outage.refuse(operations)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def ended_early(self) -> bool:
        """Stopped, or something was refused and an order was left unfinished because of it."""
        return self.stopping or (self.stop_reason is not None and self._left_unfinished)

    async def _sleep(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._stopping.wait()
        if self._stopping.is_set():
            raise _Stopping

    # --- the run ---------------------------------------------------------------------------

    async def run(self, journal: Journal) -> RunResult:
        ledger_path = self.out / ledger_io.LEDGER_NAME
        done: set[tuple[str, str]] = set()
        if ledger_path.exists():
            cut_torn_tail(ledger_path)
            for record in ledger_io.read_ledger(ledger_path):  # earlier runs into this --out
                done.add(ledger_io.ledger_key(record))
                self._counts[record.status] = self._counts.get(record.status, 0) + 1
        self._at_start = len(done)
        limits = TierLimits(strict_rps=self.settings.strict_rps,
                            default_rps=self.settings.default_rps,
                            strict_buckets=self.settings.strict_buckets)
        client = RyeClient(
            url=self.settings.api_url, api_key=self.settings.api_key,
            shopper_ip=self.settings.shopper_ip, limits=limits,
            connect_timeout_s=self.settings.connect_timeout_s,
            read_timeout_s=self.settings.read_timeout_s,
            max_connections=min(100, self.settings.max_in_flight), gate=self.outage,
        )
        self.limits = limits
        self.guard = SpendGuard(self.limits_spend, journal.book)
        started = time.time()
        with ledger_io.LedgerWriter(self.out) as writer:
            async with client, anyio.create_task_group() as sampler:
                sampler.start_soon(self._sample_throughput)
                sampler.start_soon(self.outage.watch)
                sampler.start_soon(self.guards.watch_deadline)
                async with anyio.create_task_group() as orders:  # exits once every order task has
                    await self._feed(orders, client, journal, writer, done)
                sampler.cancel_scope.cancel()
        self._write_stats(started)
        return RunResult(counts=dict(self._counts), out_dir=self.out,
                         interrupted=self.ended_early,
                         stop_reason=self.stop_reason if self.ended_early else None)

    async def _feed(
        self, tg: anyio.abc.TaskGroup, client: RyeClient, journal: Journal,
        writer: ledger_io.LedgerWriter, done: set[tuple[str, str]],
    ) -> None:
        slots = anyio.Semaphore(self.settings.max_in_flight)
        for entry in iter_orders(self.input):
            if self.stopping:
                self._left_unfinished = True
                return
            if isinstance(entry, InvalidOrder):
                record = _invalid_record(entry)
                if ledger_io.ledger_key(record) not in done:
                    writer.write(record)
                    self._finished(record.status)
                continue
            if ("order", entry.order_id) in done:
                continue
            if "createCart" in self._refused:  # an order this run will not start
                self._left_unfinished = True
                return
            await slots.acquire()
            try:
                await self._wait_answering(slots)
            except GateClosed:
                slots.release()
                self._left_unfinished = True
                return
            if self.stopping or "createCart" in self._refused:
                self._left_unfinished = True
                slots.release()
                return
            state = journal.states.setdefault(entry.order_id, OrderState())
            tg.start_soon(self._order_task, entry, state, client, journal, writer, slots)

    async def _wait_answering(self, slots: anyio.Semaphore) -> None:
        """While the API is not known to answer, start no order beside those in flight: they
        find out (one probe at a time), and no intents pile up in the journal meanwhile."""
        while (not self.outage.answering() and slots.value < self.settings.max_in_flight - 1
               and not self.stopping and "createCart" not in self._refused):
            await self.outage.wait_changed()

    async def _order_task(
        self, order: Order, state: OrderState, client: RyeClient, journal: Journal,
        writer: ledger_io.LedgerWriter, slots: anyio.Semaphore,
    ) -> None:
        try:
            record = await self._drive(order, state, client, journal)
            writer.write(record)
            self._finished(record.status)
            self.guards.order_finished(record)
        except BudgetReached:  # its cart would pass the budget: it, and every new cart, wait
            self.refuse(StopReason(kind=StopKind.BUDGET, message=self.guard.message()),
                        NO_NEW_CARTS)
            self._left_unfinished = True
        except (_Stopping, GateClosed):  # left for the next run, which resumes it
            self._left_unfinished = True
        finally:
            slots.release()
            self.outage.poke()  # the feeder may wait on a slot while the API is away

    def _finished(self, status: OrderStatus) -> None:
        self._done += 1
        self._counts[status] = self._counts.get(status, 0) + 1
        self.progress.order_finished(status)

    async def _drive(
        self, order: Order, state: OrderState, client: RyeClient, journal: Journal
    ) -> LedgerRecord:
        results: dict[int, ItemResult] = {}
        carts: list[CartRecord] = []
        indices = tuple(range(len(order.items)))
        generation = 0
        started_ts = state.started_ts or time.time()
        while True:
            cart_state = state.carts.get(generation)
            if cart_state is None:
                self._check_stop("createCart")
                if self.guard.closed:
                    raise BudgetReached(self.guard.message())  # no new carts past the budget
                journal.append({"t": "create", "o": order.order_id, "g": generation,
                                "idx": list(indices), "ts": time.time()})
                cart_state = state.carts[generation]
            outcome = await self._cart(order, cart_state, client, journal)
            results.update(outcome.results)
            if outcome.cart_id is not None:
                cost = outcome.cost
                carts.append(CartRecord(cart_id=outcome.cart_id, generation=generation,
                                        submitted=outcome.submitted,
                                        total=cost.total if cost else None,
                                        currency=cost.currency if cost else None))
            plan = replacement(
                tuple(order.items[i] for i in sorted(outcome.replace)),
                generation=generation, max_replacements=self.settings.max_replacements,
            )
            if plan is None:
                results.update(_exhausted(order, outcome))
                break
            self._replacements += 1
            generation = plan.generation
            indices = tuple(sorted(outcome.replace))
        journal.states.pop(order.order_id, None)
        items = tuple(results[i] for i in range(len(order.items)))
        return LedgerRecord(
            order_id=order.order_id, status=order_status(r.outcome for r in items), items=items,
            carts=tuple(carts), started_at=iso(started_ts), finished_at=iso(time.time()),
            lines=order.item_lines,
        )

    def _check_stop(self, operation: str) -> None:
        """Raises _Stopping when the run stops, or `operation` is no longer sent."""
        if self.stopping or operation in self._refused:
            raise _Stopping

    async def _cart(
        self, order: Order, state: CartState, client: RyeClient, journal: Journal
    ) -> CartOutcome:
        flow = CartFlow(
            order=order, state=state, client=client, journal=journal,
            settings=self.flow_settings, sleep=self._sleep, rng=self.rng,
            on_strict_call=self._strict_call, guard=self.guard,
        )
        return await flow.run()

    def _strict_call(self, operation: str) -> None:
        self._check_stop(operation)
        self.progress.strict_call()

    async def _sample_throughput(self) -> None:
        while True:
            self._samples.append((round(time.monotonic() - self._t0, 1), self._done))
            await anyio.sleep(SAMPLE_EVERY_S)

    def _write_stats(self, started: float) -> None:
        stats = self.limits.statistics()
        path = self.out / ledger_io.RUN_STATS_NAME
        previous = ledger_io.read_run_stats(path)
        self._samples.append((round(time.monotonic() - self._t0, 1), self._done))
        ledger_io.write_run_stats(path, ledger_io.RunStats(
            started_at=previous.started_at if previous else iso(started),
            finished_at=iso(time.time()),
            input_file=str(self.input),
            orders_total=self._done + (previous.orders_total if previous else 0),
            strict_requests=stats.strict_requests + (previous.strict_requests if previous else 0),
            default_requests=(stats.default_requests + (previous.default_requests if previous else 0)
                              + (self.schema_check.requests if self.schema_check else 0)),
            rate_limited=stats.rate_limited + (previous.rate_limited if previous else 0),
            replacements=self._replacements + (previous.replacements if previous else 0),
            strict_rps=self.settings.strict_rps,
            **_timeline(previous, self._samples, at_start=self._at_start,
                        elapsed_s=time.monotonic() - self._t0),
            interrupted=self.ended_early,
            stop_kind=str(self.stop_reason.kind) if self.ended_early and self.stop_reason else None,
            stop_reason=self.stop_reason.message if self.ended_early and self.stop_reason else None,
            strict_shared=stats.strict_shared,
            schema_check=str(check.outcome) if (check := self.schema_check) else None,
            schema_sha256=check.sha256 if check else None,
            schema_note=check.note or None if check else None,
            strict_shape=stats.strict_shape,
            strict_by_operation=_add_counts(stats.strict_by_operation,
                                            previous.strict_by_operation if previous else {}),
            committed=self.guard.book.totals(),  # the journal's book covers every run
            budget=self.limits_spend.budget, budget_currency=self.limits_spend.currency,
            max_order_total=self.settings.max_order_total,
            money=_money_sums_of(self.out),  # the whole ledger: every run into this --out
        ))


def _money_sums_of(out: Path) -> dict[str, dict[str, int]]:
    """The ledger's money per currency, for run_stats.json."""
    sums = summarize_money(ledger_io.read_ledger(out / ledger_io.LEDGER_NAME), top=0)
    return {cur: {"priced": s.priced, "submitted": s.submitted, "placed": s.placed,
                  "carts": s.carts} for cur, s in sums.by_currency.items()}


def _timeline(previous: ledger_io.RunStats | None, samples: list[tuple[float, int]], *,
              at_start: int, elapsed_s: float) -> dict[str, Any]:
    """The throughput samples of every run into this --out, one after the other on a running-time
    axis (the pause between two runs left out), with where each resumed run starts on it."""
    if previous is None:
        return {"throughput": tuple(samples), "active_s": round(elapsed_s, 1)}
    before = previous.active_s
    if before is None:  # written before active_s existed: its samples end where it stopped
        before = previous.throughput[-1][0] if previous.throughput else 0.0
    shifted = tuple((round(before + t, 1), at_start + n) for t, n in samples)
    return {"throughput": previous.throughput + shifted, "active_s": round(before + elapsed_s, 1),
            "runs": previous.runs + 1, "run_starts": (*previous.run_starts, round(before, 1))}


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in sorted(a.keys() | b.keys())}


def _exhausted(order: Order, outcome: CartOutcome) -> dict[int, ItemResult]:
    """Items still failing retryably when no replacement is left: FAILED with the last reason."""
    out = {}
    for idx, (code, reason) in outcome.replace.items():
        item = order.items[idx]
        out[idx] = ItemResult(
            marketplace=item.marketplace, product_id=item.product_id, quantity=item.quantity,
            outcome=ItemOutcome.FAILED, reason_code=code,
            reason=reason or "failed again after the last replacement cart",
            cart_id=outcome.cart_id,
        )
    return out


def _invalid_record(entry: InvalidOrder) -> LedgerRecord:
    items = tuple(
        ItemResult(marketplace=i.marketplace, product_id=i.product_id, quantity=i.quantity,
                   outcome=ItemOutcome.INVALID, reason_code="INVALID", reason=describe(entry))
        for i in entry.items
    )
    now = iso(time.time())
    return LedgerRecord(
        order_id=entry.order_id, status=OrderStatus.INVALID, items=items,
        started_at=now, finished_at=now,
        invalid=InvalidInfo(file=entry.file, line=entry.line, field=entry.field,
                            message=entry.message),
        lines=entry.lines,
    )
