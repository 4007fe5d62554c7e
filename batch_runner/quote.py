"""`batch-runner quote INPUT --out DIR`: create and price every order's cart, never submit.

Each cart is created through the run's own machinery (CartFlow.prepare: the journal's create
intent, Strict createCart, then getCart reads on the Default tier until the price is final), so
the journal in DIR links the quote to a later `run` into the same DIR: that run submits the
quoted carts instead of creating them again (one createCart per cart in all), and creates again
only a cart that has expired unsubmitted (Rye keeps carts 10 days). Writes quote.csv (one row
per line item) and quote.md (totals per currency, orders above --max-order-total, items Rye
could not cart or price). Nothing here submits: no submitCart document is ever sent.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio

from batch_runner.cart_flow import CART_EXPIRES_AFTER_S, CartFlow, FlowSettings
from batch_runner.client import RyeClient
from batch_runner.config import Settings
from batch_runner.core.budget import Limits, Verdict, guard_cart
from batch_runner.core.model import Order
from batch_runner.core.money import fmt, plain
from batch_runner.errors import UsageError
from batch_runner.job_check import check_job
from batch_runner.journal import CartState, Journal, OrderState, locked
from batch_runner.ledger import LEDGER_NAME, ledger_order_ids, safe_cell
from batch_runner.limits import TierLimits
from batch_runner.live_schema import check_before_run
from batch_runner.load import iter_orders, summarize
from batch_runner.logs import setup_logging
from batch_runner.notify import run_secrets
from batch_runner.report_content import duration_text
from batch_runner.spend import SpendGuard, limits_from

QUOTE_CSV_NAME = "quote.csv"
QUOTE_MD_NAME = "quote.md"
QUOTE_COLUMNS = (
    "order_id", "marketplace", "product_id", "quantity", "carted", "reason_code", "reason",
    "cart_id", "cart_total", "currency", "subtotal", "shipping", "tax", "estimated",
    "above_max_order_total", "expires_at",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quoted:
    """One order's quote, as the journal holds it."""

    order: Order
    cart: CartState | None  #: None: no cart (the run stopped before it)


def _say(text: str) -> None:
    print(text)  # noqa: T201



def estimate_s(orders: int, strict_rps: float) -> float:
    """One Strict createCart per order; the getCart reads go through the Default tier."""
    return orders / strict_rps


async def run_quote(settings: Settings) -> int:
    """Quote every order of the input into --out; 0 when every item is carted and priced."""
    input_path, out = check_job(settings, submits=False)
    logger = setup_logging(fmt=settings.log_format, quiet=settings.quiet,
                           secrets=run_secrets(settings, os.environ))
    await check_before_run(settings, logger)  # createCart is Strict: no drifted document goes
    limits = limits_from(settings.max_order_total, None)
    summary = summarize(input_path)
    needed = duration_text(estimate_s(summary.orders, settings.strict_rps))
    _say(f"Quoting {summary.orders} orders: {summary.orders} createCart calls, at least {needed} "
         f"at {settings.strict_rps:g} Strict requests/s; nothing is submitted.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror}") from None
    with locked(out):
        journal = Journal.open(out, input_path)
        try:
            done = ledger_order_ids(out / LEDGER_NAME)
            await _quote_all(settings, journal, limits, done)
        finally:
            journal.close()
        sheet = _write_outputs(out, _quoted(input_path, journal, done), limits, input_path)
    unpriced = len(sheet.problems)
    _say(f"Quoted {sheet.orders} orders; {unpriced} with items not carted or not priced.")
    _say(f"  quote: {out / QUOTE_MD_NAME} and {QUOTE_CSV_NAME}")
    _say(f"  next:  batch-runner run {input_path} --out {out}  (submits these carts)")
    return 1 if unpriced or summary.invalid else 0


async def _quote_all(settings: Settings, journal: Journal, limits: Limits, done: set[str]) -> None:
    """Create and price the cart of every order not finished yet, `max_in_flight` at a time."""
    tier = TierLimits(strict_rps=settings.strict_rps, default_rps=settings.default_rps,
                      strict_buckets=settings.strict_buckets)
    client = RyeClient(url=settings.api_url, api_key=settings.api_key, shopper_ip=None,
                       limits=tier, connect_timeout_s=settings.connect_timeout_s,
                       read_timeout_s=settings.read_timeout_s,
                       max_connections=min(100, settings.max_in_flight))
    flow_settings = FlowSettings.of(settings, submit_retries=0, never_started_resubmits=0)
    guard = SpendGuard(limits, journal.book)
    slots = anyio.Semaphore(settings.max_in_flight)
    rng = random.Random()

    async def quote_one(order: Order) -> None:
        try:
            state = journal.states.setdefault(order.order_id, OrderState())
            if 0 not in state.carts:
                journal.append({"t": "create", "o": order.order_id, "g": 0,
                                "idx": list(range(len(order.items))), "ts": _now()})
            flow = CartFlow(order=order, state=state.carts[max(state.carts)], client=client,
                            journal=journal, settings=flow_settings, sleep=anyio.sleep, rng=rng,
                            on_strict_call=lambda _operation: None, guard=guard)
            # An API away for every attempt must not fail the order for the later run too.
            await flow.prepare(give_up_final=False)
        finally:
            slots.release()

    async with client, anyio.create_task_group() as tg:
        for order in iter_orders(settings.input or Path()):  # streamed, as the run does
            if isinstance(order, Order) and order.order_id not in done:
                await slots.acquire()
                tg.start_soon(quote_one, order)


def _quoted(input_path: Path, journal: Journal, done: set[str]) -> Iterator[Quoted]:
    """The quote of each order, in input order, read back from the journal."""
    for order in iter_orders(input_path):
        if isinstance(order, Order) and order.order_id not in done:
            yield Quoted(order=order, cart=_latest(journal.states.get(order.order_id)))


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _latest(state: OrderState | None) -> CartState | None:
    return state.carts[max(state.carts)] if state and state.carts else None


def _problem(q: Quoted) -> bool:
    """Some item not carted, or the cart has no final price."""
    cart = q.cart
    return cart is None or bool(cart.failed) or cart.cost is None or not cart.cost.final


def _above(q: Quoted, limits: Limits) -> bool:
    cost = q.cart.cost if q.cart else None
    return guard_cart(cost, limits=limits).verdict is Verdict.PRICE_ABOVE_LIMIT


def _expires(cart: CartState | None) -> str:
    if cart is None or cart.created_ts is None:
        return ""
    moment = datetime.fromtimestamp(cart.created_ts + CART_EXPIRES_AFTER_S, UTC)
    return moment.isoformat(timespec="minutes")


def _rows(q: Quoted, limits: Limits) -> list[list[object]]:
    cart = q.cart
    failed = {i: (code, msg) for i, code, msg in (cart.failed if cart else [])}
    cost = cart.cost if cart else None
    money: list[object] = [None] * 6  # cart_total, currency, subtotal, shipping, tax, estimated
    if cost is not None:
        def amount(value: int | None) -> str | None:
            return plain(value, cost.currency) if value is not None else None

        money = [amount(cost.total), cost.currency, amount(cost.subtotal), amount(cost.shipping),
                 amount(cost.tax), "yes" if cost.estimated else "no"]
    above = "yes" if _above(q, limits) else ""
    rows = []
    for idx, item in enumerate(q.order.items):
        code, reason = failed.get(idx, (None, None))
        carted = cart is not None and cart.cart_id is not None and idx not in failed
        rows.append([q.order.order_id, item.marketplace.value, item.product_id, item.quantity,
                     "yes" if carted else "no", code, reason, cart.cart_id if cart else None,
                     *money, above, _expires(cart)])
    return rows


@dataclass(slots=True)
class Sheet:
    """What quote.md says, gathered in one pass while quote.csv is written."""

    orders: int = 0
    totals: dict[str, list[int]] = field(default_factory=dict)  #: currency -> [total, carts]
    above: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, q: Quoted, limits: Limits) -> None:
        self.orders += 1
        cost = q.cart.cost if q.cart else None
        if cost is not None and cost.final and cost.total is not None:
            entry = self.totals.setdefault(cost.currency, [0, 0])
            entry[0] += cost.total
            entry[1] += 1
        if _above(q, limits):
            self.above.append(_line(q))
        if _problem(q):
            self.problems.append(_problem_line(q))


def _write_outputs(out: Path, quoted: Iterable[Quoted], limits: Limits, input_path: Path) -> Sheet:
    """quote.csv (atomically) and quote.md from one pass over the quotes."""
    sheet = Sheet()
    path = out / QUOTE_CSV_NAME
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(QUOTE_COLUMNS)
        for q in quoted:
            writer.writerows([safe_cell(v) for v in row] for row in _rows(q, limits))
            sheet.add(q, limits)
    os.replace(tmp, path)
    (out / QUOTE_MD_NAME).write_text(render_quote(sheet, limits, input_path), encoding="utf-8")
    return sheet


def render_quote(sheet: Sheet, limits: Limits, input_path: Path) -> str:
    """quote.md: totals per currency, orders above the limit, items not carted or not priced."""
    out = ["# batch-runner quote", "",
           f"Input: {_c(input_path.name)} · {sheet.orders} orders · nothing was submitted.", "",
           "## Total per currency", ""]
    out += ["| currency | carts | total |", "| --- | --- | --- |"]
    out += [f"| {cur} | {n} | {fmt(total, cur)} |" for cur, (total, n) in sorted(sheet.totals.items())]
    if limits.max_order_total is not None:
        out += ["", f"## Orders above --max-order-total {limits.max_order_total} ({len(sheet.above)})", ""]
        out += sheet.above or ["None."]
    out += ["", f"## Items Rye could not cart or price ({len(sheet.problems)} orders)", ""]
    out += sheet.problems or ["None."]
    out += ["", ("`batch-runner run` into the same --out submits these carts (each expires "
                  "10 days after it was created; an expired one is created again, never submitted).")]
    return "\n".join(out) + "\n"


def _line(q: Quoted) -> str:
    cost = q.cart.cost if q.cart else None
    price = fmt(cost.total, cost.currency) if cost and cost.total is not None else "no price"
    cart = q.cart.cart_id if q.cart else None
    return f"- {_c(q.order.order_id)} {price} cart {_c(cart)}"


def _problem_line(q: Quoted) -> str:
    cart = q.cart
    if cart is None:
        return f"- {_c(q.order.order_id)}: no cart yet (quote interrupted, or the API did not answer); run quote again"
    parts = [f"{_c(q.order.items[i].product_id)} {code}" for i, code, _ in cart.failed]
    if cart.cart_id is not None and (cart.cost is None or not cart.cost.final):
        parts.append("no final price from Rye" if cart.cost else "no price from Rye")
    return f"- {_c(q.order.order_id)}: " + "; ".join(parts)


def _c(text: str | None) -> str:
    """An id from the input or the API as a Markdown code span, whatever it holds."""
    return "`" + " ".join((text or "(none)").replace("`", "'").split()) + "`"

