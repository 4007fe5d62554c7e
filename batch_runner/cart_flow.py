"""One cart's life: create, submit, poll, until every item of it is decided.

Carries out the core's decisions with the client and records each side effect in the journal
before it is sent. Never resends a submitCart whose outcome is unknown: it polls instead, and
submits the same cart again only when polling shows the rules allow it (never started).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from batch_runner.client import RyeClient
from batch_runner.config import Settings
from batch_runner.core.backoff import delay
from batch_runner.core.budget import Verdict as SpendVerdict
from batch_runner.core.budget import nothing_charged
from batch_runner.core.classify import Policy, Verdict, classify
from batch_runner.core.model import ItemOutcome, ItemResult, LineItem, Order
from batch_runner.core.money import CartCost
from batch_runner.core.snapshot import RyeOrderView
from batch_runner.core.submission import ItemKey, StoreAnswer, StoreFate, judge_submission
from batch_runner.journal import CartState, Journal, cost_record
from batch_runner.rye_answers import CartCreated, NotSent, OutcomeUnknown, Refused, SubmitAnswer
from batch_runner.spend import SpendGuard, wait_cart_priced

#: Consecutive failed polls (API away) tolerated before each backoff grows to its cap.
POLL_BACKOFF_CAP_S = 60.0
#: A cart whose checkout cannot be found this many polls in a row goes to NEEDS_REVIEW.
MAX_REFUSED_POLLS = 3
#: Attempts to create one cart before its items are FAILED (nothing was placed).
MAX_CREATE_ATTEMPTS = 12
#: Rye keeps a cart 10 days; one never submitted and older than this (a margin before) is
#: created again rather than submitted (a quote from last week, say).
CART_EXPIRES_AFTER_S = 10 * 86400.0
EXPIRY_MARGIN_S = 3600.0
CART_EXPIRED = "CART_EXPIRED_ERROR"
EXPIRED = "expired"  #: a submit fate: Rye refused the never-submitted cart as expired


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSettings:
    policy: Policy
    poll_interval_s: float
    submit_retries: int
    never_started_resubmits: int
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    #: A submitted cart whose checkout cannot be read this long, while the API answers other
    #: requests (an outage is the outage budget's), is left to a person: NEEDS_REVIEW.
    unreadable_after_s: float = 1800.0

    @classmethod
    def of(cls, settings: Settings, **overrides: int) -> FlowSettings:
        """The flow's share of the run's settings."""
        values = {"submit_retries": settings.submit_retries,
                  "never_started_resubmits": settings.never_started_resubmits, **overrides}
        return cls(policy=Policy(never_started_after_s=settings.never_started_after_s,
                                 stuck_after_s=settings.stuck_after_s),
                   poll_interval_s=settings.poll_interval_s,
                   backoff_base_s=min(1.0, settings.poll_interval_s),
                   unreadable_after_s=max(settings.stuck_after_s, settings.outage_budget_s),
                   **values)


@dataclass(slots=True, kw_only=True)
class CartOutcome:
    cart_id: str | None
    generation: int
    submitted: bool
    results: dict[int, ItemResult] = field(default_factory=dict)
    replace: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    cost: CartCost | None = None  #: the price journaled before its first submission


def key_of(item: LineItem) -> ItemKey:
    return (item.marketplace.value, item.product_id)


class CartFlow:
    """Drives one cart of one order. `sleep` raises when the run is stopping."""

    def __init__(
        self,
        *,
        order: Order,
        state: CartState,
        client: RyeClient,
        journal: Journal,
        settings: FlowSettings,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        on_strict_call: Callable[[str], None],
        guard: SpendGuard,
    ) -> None:
        self.order = order
        self.state = state
        self.client = client
        self.journal = journal
        self.settings = settings
        self.sleep = sleep
        self.rng = rng
        self.on_strict_call = on_strict_call
        self.guard = guard
        self.clock: Callable[[], float] = time.time  #: wall clock (cart age); tests replace it
        self._first_cost: CartCost | None = None  #: createCart's answer, in this process only
        self.outcome = CartOutcome(cart_id=state.cart_id, generation=state.generation,
                                   submitted=state.submits > 0)
        self._pending: set[int] = set()
        self._retry_codes: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"<CartFlow order={self.order.order_id} gen={self.state.generation} cart={self.state.cart_id}>"

    # --- helpers ---------------------------------------------------------------------------

    def _rec(self, kind: str, **fields: object) -> None:
        self.journal.append({"t": kind, "o": self.order.order_id, "g": self.state.generation, **fields})

    def _decide(self, idx: int, outcome: ItemOutcome, *, code: str | None = None,
                reason: str | None = None, rye_order_id: str | None = None,
                redirect_url: str | None = None) -> None:
        item = self.order.items[idx]
        self.outcome.results[idx] = ItemResult(
            marketplace=item.marketplace, product_id=item.product_id, quantity=item.quantity,
            outcome=outcome, reason_code=code, reason=reason, cart_id=self.state.cart_id,
            rye_order_id=rye_order_id, redirect_url=redirect_url,
        )
        self._pending.discard(idx)

    def _indices_of(self, keys: set[ItemKey]) -> list[int]:
        return [i for i in sorted(self._pending) if key_of(self.order.items[i]) in keys]

    def _decide_all_pending(self, outcome: ItemOutcome, code: str, reason: str) -> None:
        for idx in sorted(self._pending):
            self._decide(idx, outcome, code=code, reason=reason)

    # --- the flow --------------------------------------------------------------------------

    async def run(self) -> CartOutcome:
        if self.state.done is not None:
            return self._from_done(self.state.done)
        for _ in range(2):  # a second pass only for a cart Rye called expired at its first submit
            if self.state.fate == EXPIRED:  # never submitted: create it again (fsynced intent)
                self._rec("expired", cart=self.state.cart_id, ts=self.clock())
                self.outcome.cart_id, self.outcome.submitted = None, False
                # The new cart holds every item again (the record clears the failures at
                # creation): each is judged anew, never left FAILED while it is bought.
                self.outcome.results.clear()
            if not await self._one_pass():
                break
        if self.state.fate == EXPIRED:  # the new cart was refused as expired too
            self._decide_all_pending(ItemOutcome.NEEDS_REVIEW, CART_EXPIRED,
                                     "Rye refused the cart as expired twice; nothing was submitted")
        self._finish()
        return self.outcome

    async def _one_pass(self) -> bool:
        """Create/price, then submit and poll as the journal allows; True: the cart expired."""
        await self.prepare()
        self._pending = {i for i in self.state.indices if i not in self.outcome.results}
        for idx, code, message in self.state.failed:
            self._decide(idx, ItemOutcome.FAILED, code=code, reason=message)
        for idx, outcome, decided_code, reason in self.state.decided:
            self._decide(idx, ItemOutcome(outcome), code=decided_code, reason=reason)
        if not self._pending or self.state.cart_id is None:
            return False
        if self.state.fate in (None, "poll") and self.state.submits:
            await self._poll()  # journaled submit with an unknown or accepted outcome
            return False
        if self.state.fate == "final" or not await self._priced_within_limits():
            return False
        return await self._submit_then_poll() == EXPIRED

    async def prepare(self, *, give_up_final: bool = True) -> None:
        """Create the cart unless the journal has it (again if it expired unsubmitted) and price
        it, journaling both; never submits. `run` goes on from here; `quote` stops here."""
        if self.state.done is not None:
            return
        if self._expired():
            self._rec("expired", cart=self.state.cart_id, ts=self.clock())
            self.outcome.cart_id = None
        if self.state.cart_id is None and not self.state.created:
            await self._create(give_up_final=give_up_final)
        if self.state.cart_id is not None and not self.state.submits and self._price_due():
            cost = await wait_cart_priced(self.client, self.state.cart_id, self._first_cost,
                                          sleep=self.sleep, interval_s=self.settings.poll_interval_s)
            if cost is not None or not self.state.priced:
                # A re-read Rye cannot answer (the cart gone or expired) keeps the earlier
                # price: the submit then meets CART_EXPIRED_ERROR and the cart is made anew.
                self._rec("priced", cart=self.state.cart_id, cost=cost_record(cost))

    def _price_due(self) -> bool:
        """Whether to read the cart's price (again) before its first submit. With a spend limit,
        a price journaled by an earlier process (a quote, a run killed days ago) is read again:
        the guard must judge what Rye will charge now, not what it quoted then."""
        if not self.state.priced:
            return True
        return self.guard.limits.active and self._first_cost is None

    def _expired(self) -> bool:
        """A cart never submitted that Rye will no longer (or soon not) accept: never submit it."""
        made = self.state.created_ts
        if self.state.cart_id is None or self.state.submits or made is None:
            return False
        return self.clock() - made >= CART_EXPIRES_AFTER_S - EXPIRY_MARGIN_S

    async def _priced_within_limits(self) -> bool:
        """Price the cart (journaled before any submit) and apply the per-cart spend guards."""
        if self.state.submits:
            return True  # priced and admitted before its first submission
        self.outcome.cost = self.state.cost
        decision = self.guard.check_cart(self.state.cost)
        if decision.verdict is SpendVerdict.SUBMIT:
            return True
        self._decide_all_pending(ItemOutcome.NEEDS_REVIEW, decision.verdict.value, decision.reason)
        return False

    async def _create(self, *, give_up_final: bool = True) -> None:
        """`give_up_final`: after the last attempt, record the items FAILED (API_UNAVAILABLE);
        else record nothing, so the create intent makes a later quote or run try again."""
        items = tuple(self.order.items[i] for i in self.state.indices)
        for attempt in range(1, MAX_CREATE_ATTEMPTS + 1):
            result = await self.client.create_cart(
                items, self.order.buyer, before_send=lambda: self.on_strict_call("createCart"))
            if isinstance(result, CartCreated):
                self._created(result)
                return
            if isinstance(result, Refused):
                failed = [[i, result.code, result.message] for i in self.state.indices]
                self._rec("created", cart=None, failed=failed)
                return
            if isinstance(result, OutcomeUnknown):
                # The API may have made a cart we never heard of (harmless: carts cost nothing).
                # A createCart that never reached it (NotSent) has nothing to record: the create
                # intent alone already means "create again" on resume.
                self._rec("create_lost", why=result.reason)
            await self.sleep(delay(attempt, self.rng, base_s=self.settings.backoff_base_s,
                                   cap_s=self.settings.backoff_cap_s))
        if not give_up_final:
            return
        failed = [[i, "API_UNAVAILABLE", f"no cart after {MAX_CREATE_ATTEMPTS} attempts"]
                  for i in self.state.indices]
        self._rec("created", cart=None, failed=failed)

    def _created(self, result: CartCreated) -> None:
        in_cart = {key_of(line) for line in result.lines}
        failed = []
        for idx in self.state.indices:
            item = self.order.items[idx]
            if key_of(item) in in_cart:
                continue
            error = next((e for e in result.errors if item.product_id in e.product_ids), None)
            error = error or (result.errors[0] if result.errors else None)
            code = error.code if error else "NOT_IN_CART"
            message = error.message if error else "the API left this item out of the cart"
            failed.append([idx, code, message])
        self._rec("created", cart=result.cart_id, failed=failed, ts=self.clock())
        self.outcome.cart_id = result.cart_id
        self._first_cost = result.cost

    async def _submit_then_poll(self) -> str | None:
        """Submit (again while the rules allow) and poll; EXPIRED when Rye refused the cart as
        expired at its first submission (so it was never submitted: it may be created again)."""
        retries = unsent = 0
        while self._pending:
            fate = await self._submit_once()
            if fate == "poll":
                await self._poll()
                return fate
            if fate in ("final", EXPIRED):
                return fate
            if self._retry_codes:  # a retryable error: the budget of SPEC step 3
                retries += 1
                attempt = retries
                if retries > self.settings.submit_retries:
                    self._give_up("SUBMIT_RETRIES_EXHAUSTED",
                                  f"submission still failing after {retries - 1} retries")
                    return "final"
            else:  # never reached the API: wait it out, with a longer budget
                unsent += 1
                attempt = unsent
                if unsent >= MAX_CREATE_ATTEMPTS:
                    self._give_up("API_UNAVAILABLE",
                                  f"submitCart never reached the API in {unsent} attempts")
                    return "final"
            await self.sleep(delay(attempt, self.rng, base_s=self.settings.backoff_base_s,
                                   cap_s=self.settings.backoff_cap_s))
        return None

    def _give_up(self, default_code: str, reason: str) -> None:
        """Nothing of these items was submitted: FAILED, with the last error code seen."""
        before = set(self._pending)
        for idx in sorted(self._pending):
            self._decide(idx, ItemOutcome.FAILED, code=self._retry_codes.get(idx, default_code),
                         reason=reason)
        self._rec("submitted", cart=self.state.cart_id, fate="final",
                  decided=self._decisions(before))

    def _decisions(self, indices: set[int]) -> list[list[object]]:
        return [
            [i, r.outcome.value, r.reason_code, r.reason]
            for i in sorted(indices) if (r := self.outcome.results.get(i)) is not None
        ]

    async def _submit_once(self) -> str:
        """One submitCart, journaled first. Returns the journaled fate: poll, resend or final."""
        assert self.state.cart_id is not None
        self._retry_codes.clear()
        cart_id = self.state.cart_id

        def journal_intent() -> None:
            # After the rate limiter, right before sending: the never-started and stuck clocks
            # start at the request, not at the wait for a token.
            self.on_strict_call("submitCart")  # raises if stopping: nothing journaled, nothing sent
            # Raises BudgetReached (nothing journaled, nothing sent) when this cart would pass
            # the budget; else the reservation rides on the fsynced submit intent.
            reserve = self.guard.admit(cart_id, self.state.cost)
            extra = {"reserve": reserve} if reserve else {}
            self._rec("submit", cart=cart_id, ts=time.time(), **extra)
            self.outcome.submitted = True

        billing = self.order.billing or self.order.buyer
        result = await self.client.submit_cart(
            cart_id, billing=billing, payment_token=self.order.payment_token,
            before_send=journal_intent,
        )
        before = set(self._pending)
        fate = self._judge(result)
        self._rec("submitted", cart=self.state.cart_id, fate=fate,
                  decided=self._decisions(before - self._pending))
        return fate

    def _judge(self, result: SubmitAnswer | Refused | NotSent | OutcomeUnknown) -> str:
        if isinstance(result, OutcomeUnknown):
            return "poll"  # never resend at once: polling tells what happened
        if isinstance(result, NotSent):
            return "resend"  # the API never saw it
        if isinstance(result, Refused):
            if result.code == CART_EXPIRED and self.state.submits == 1 and self.state.decided == []:
                return EXPIRED  # this was the cart's only submission, refused whole: not submitted
            outcome = ItemOutcome.NEEDS_REVIEW
            self._decide_all_pending(outcome, result.code, result.message or "submitCart refused")
            return "final"
        return self._judge_answer(result)

    def _judge_answer(self, answer: SubmitAnswer) -> str:
        keys = tuple(key_of(self.order.items[i]) for i in sorted(self._pending))
        stores = tuple(
            StoreAnswer(items=tuple(key_of(line) for line in s.lines), is_submitted=s.is_submitted,
                        error_codes=tuple(e.code for e in s.errors),
                        message=s.errors[0].message if s.errors else None)
            for s in answer.stores
        )
        verdicts = judge_submission(
            keys, stores=stores, cart_error_codes=tuple(e.code for e in answer.errors),
            cart_message=answer.errors[0].message if answer.errors else None,
            retryable=answer.retryable,
        )
        resend = poll = False
        for idx in sorted(self._pending):
            judgement = verdicts[key_of(self.order.items[idx])]
            match judgement.fate:
                case StoreFate.POLL:
                    poll = True
                case StoreFate.RETRY:
                    resend = True
                    self._retry_codes[idx] = judgement.code or "RETRYABLE"
                case StoreFate.FAILED:
                    self._decide(idx, ItemOutcome.FAILED, code=judgement.code, reason=judgement.message)
                case StoreFate.NEEDS_REVIEW:
                    reason = judgement.message or "Rye did not say whether resubmitting is safe"
                    self._decide(idx, ItemOutcome.NEEDS_REVIEW, code=judgement.code, reason=reason)
        if resend:
            return "resend"  # the same cart again; stores already submitted are not touched
        return "poll" if poll else "final"

    async def _poll(self) -> None:
        resubmits = failures = refusals = 0
        failing_since: float | None = None
        while self._pending:
            await self.sleep(self.settings.poll_interval_s * self.rng.uniform(0.9, 1.1))
            view = await self.client.checkout(self.state.cart_id or "")
            if isinstance(view, Refused):
                refusals += 1
                if refusals >= MAX_REFUSED_POLLS:
                    self._decide_all_pending(ItemOutcome.NEEDS_REVIEW, view.code,
                                             f"checkout could not be read: {view.message}")
                continue
            if isinstance(view, NotSent | OutcomeUnknown):
                failures += 1
                failing_since = failing_since or self.clock()
                if self.clock() - failing_since >= self.settings.unreadable_after_s:
                    self._decide_all_pending(
                        ItemOutcome.NEEDS_REVIEW, "CHECKOUT_UNREADABLE",
                        f"checkout could not be read for {self.clock() - failing_since:.0f} s "
                        f"(last: {view.reason}); the order may be placed")
                    continue
                await self.sleep(delay(failures, self.rng, base_s=self.settings.backoff_base_s,
                                       cap_s=POLL_BACKOFF_CAP_S))
                continue
            failures = refusals = 0
            failing_since = None
            waited = time.time() - (self.state.last_submit_ts or time.time())
            never_started = self._classify(view.orders, waited)
            if never_started and self._pending:
                if resubmits >= self.settings.never_started_resubmits:
                    self._decide_all_pending(
                        ItemOutcome.NEEDS_REVIEW, "NEVER_STARTED",
                        f"Rye never started the order after {resubmits} resubmissions",
                    )
                    return
                resubmits += 1
                if await self._submit_once() == "resend":
                    continue  # a retryable error: keep polling, the clock has restarted

    def _classify(self, orders: tuple[RyeOrderView, ...], waited: float) -> bool:
        """Record final verdicts; True when the rules say to submit the same cart again."""
        covered: set[ItemKey] = set()
        resubmit = False
        for rye_order in orders:
            keys = {key_of(line) for line in rye_order.line_items}
            covered |= keys
            verdict = classify(rye_order, waited_s=waited, policy=self.settings.policy)
            if verdict.verdict is Verdict.NEVER_STARTED:
                resubmit = True
                continue
            if verdict.verdict is Verdict.PENDING:
                continue
            for idx in self._indices_of(keys):
                if verdict.verdict is Verdict.REPLACE:
                    self.outcome.replace[idx] = (verdict.reason_code or "RETRYABLE", verdict.reason)
                    self._pending.discard(idx)
                    continue
                self._decide(idx, ItemOutcome(verdict.verdict.value), code=verdict.reason_code,
                             reason=verdict.reason, rye_order_id=rye_order.id,
                             redirect_url=verdict.redirect_url)
        uncovered = [i for i in self._pending if key_of(self.order.items[i]) not in covered]
        if uncovered and waited >= self.settings.policy.never_started_after_s:
            resubmit = True
        return resubmit

    def _finish(self) -> None:
        results = [
            [i, r.outcome.value, r.reason_code, r.reason, r.rye_order_id, r.redirect_url]
            for i, r in sorted(self.outcome.results.items())
        ]
        replace = [[i, code, reason] for i, (code, reason) in sorted(self.outcome.replace.items())]
        cart_id = self.state.cart_id
        release = (cart_id is not None and self.guard.book.holds(cart_id)
                   and nothing_charged(r.outcome for r in self.outcome.results.values()))
        self.outcome.cost = self.state.cost
        self._rec("cart_done", cart=cart_id, results=results, replace=replace,
                  submitted=self.outcome.submitted, ts=time.time(),
                  **({"release": True} if release else {}))

    def _from_done(self, done: dict[str, object]) -> CartOutcome:
        for i, outcome, code, reason, rye_id, url in done["results"]:  # type: ignore[attr-defined]
            self._decide(i, ItemOutcome(outcome), code=code, reason=reason, rye_order_id=rye_id,
                         redirect_url=url)
        for i, code, reason in done["replace"]:  # type: ignore[attr-defined]
            self.outcome.replace[i] = (code, reason)
        self.outcome.submitted = bool(done.get("submitted"))
        self.outcome.cost = self.state.cost
        return self.outcome
