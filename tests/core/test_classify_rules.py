"""classify(): one row per rule of the SPEC's table, plus submission judgement and regrouping."""

from __future__ import annotations

import pytest

from batch_runner.core.classify import RULES, Policy, Verdict, classify
from batch_runner.core.model import LineItem, Marketplace
from batch_runner.core.regroup import replacement
from batch_runner.core.snapshot import EventView, RyeOrderView
from batch_runner.core.submission import StoreAnswer, StoreFate, judge_submission

POLICY = Policy(never_started_after_s=300, stuck_after_s=600)
STARTED = EventView(typename="OrderSubmissionStartedOrderEvent")


def failed(retryable: bool | None) -> EventView:
    return EventView(typename="OrderFailedOrderEvent", reason="r", reason_code="CODE", retryable=retryable)


@pytest.mark.parametrize(
    ("status", "events", "urls", "waited", "verdict"),
    [
        ("SUCCEEDED", (), (), 0, Verdict.PLACED),
        ("PROCESSING", (STARTED, EventView(typename="OrderPlacedOrderEvent")), (), 0, Verdict.PLACED),
        ("FAILED", (STARTED, failed(True)), (), 0, Verdict.REPLACE),
        ("FAILED", (STARTED, failed(False)), (), 0, Verdict.FAILED),
        ("FAILED", (STARTED, failed(None)), (), 0, Verdict.NEEDS_REVIEW),
        ("ACTION_REQUIRED", (STARTED,), ("https://3ds",), 0, Verdict.ACTION_REQUIRED),
        ("PENDING", (), (), 299, Verdict.PENDING),
        ("PENDING", (), (), 300, Verdict.NEVER_STARTED),
        ("PROCESSING", (STARTED,), (), 599, Verdict.PENDING),
        ("PROCESSING", (STARTED,), (), 600, Verdict.STUCK),
        ("CANCELLED", (STARTED,), (), 0, Verdict.NEEDS_REVIEW),
        ("SOMETHING_NEW", (), (), 0, Verdict.NEEDS_REVIEW),
        ("PROCESSING", (STARTED, EventView(typename="OrderTeleportedOrderEvent")), (), 0, Verdict.NEEDS_REVIEW),
    ],
)
def test_each_rule_of_the_table(status: str, events: tuple[EventView, ...], urls: tuple[str, ...],
                                waited: float, verdict: Verdict) -> None:
    """Each row of the SPEC's classification table gives its outcome."""
    order = RyeOrderView(id="o", status=status, events=events, redirect_urls=urls)
    result = classify(order, waited_s=waited, policy=POLICY)
    assert result.verdict is verdict
    if verdict is Verdict.FAILED:
        assert result.reason_code == "CODE"
    if verdict is Verdict.ACTION_REQUIRED:
        assert result.redirect_url == "https://3ds"


def test_rules_table_names_every_verdict() -> None:
    """The RULES table (printed in the README) covers every verdict."""
    assert {v for _, v in RULES} == set(Verdict)


def test_stuck_is_never_a_replacement() -> None:
    """However long an order sits after starting, it is STUCK, never REPLACE."""
    order = RyeOrderView(id="o", status="PROCESSING", events=(STARTED,))
    assert classify(order, waited_s=10**9, policy=POLICY).verdict is Verdict.STUCK


A = ("AMAZON", "B1")
S = ("SHOPIFY", "9")


@pytest.mark.parametrize(
    ("stores", "cart_errors", "retryable", "expect"),
    [
        ((StoreAnswer(items=(A,), is_submitted=True, error_codes=()),), (), None, {A: StoreFate.POLL}),
        ((), ("UPSTREAM_SERVICE_ERROR",), True, {A: StoreFate.RETRY, S: StoreFate.RETRY}),
        ((), ("PAYMENT_FAILED",), False, {A: StoreFate.FAILED, S: StoreFate.FAILED}),
        ((), ("SUBMIT_CART_FAILED",), None, {A: StoreFate.NEEDS_REVIEW, S: StoreFate.NEEDS_REVIEW}),
        ((), ("ALREADY_SUBMITTED",), False, {A: StoreFate.POLL, S: StoreFate.POLL}),
        ((StoreAnswer(items=(A,), is_submitted=True, error_codes=("ALREADY_SUBMITTED",)),
          StoreAnswer(items=(S,), is_submitted=False, error_codes=("SUBMIT_STORE_FAILED",))), (), True,
         {A: StoreFate.POLL, S: StoreFate.RETRY}),
    ],
)
def test_submission_answers_store_by_store(stores: tuple[StoreAnswer, ...], cart_errors: tuple[str, ...],
                                           retryable: bool | None, expect: dict[tuple[str, str], StoreFate]) -> None:
    """retryable applies to the errors it comes with; submitted or ALREADY_SUBMITTED stores go on to polling."""
    items = tuple(expect)
    fates = judge_submission(items, stores=stores, cart_error_codes=cart_errors, cart_message=None,
                             retryable=retryable)
    assert {k: j.fate for k, j in fates.items()} == expect


def test_replacement_respects_the_budget() -> None:
    """Generation g+1 holds exactly the failed items; none beyond max_replacements."""
    items = (LineItem(marketplace=Marketplace.AMAZON, product_id="B1", quantity=1),)
    plan = replacement(items, generation=0, max_replacements=2)
    assert plan is not None
    assert (plan.generation, plan.items) == (1, items)
    assert replacement(items, generation=2, max_replacements=2) is None
    assert replacement((), generation=0, max_replacements=2) is None
