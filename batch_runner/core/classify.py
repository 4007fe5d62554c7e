"""Classification: what one Rye order's poll snapshot means, as the SPEC's table says.

Pure: takes a snapshot and how long the cart has waited since its latest submitCart request,
returns a verdict. The RULES table is walked by the tests and printed in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from batch_runner.core.snapshot import EventView, RyeOrderView


class Verdict(StrEnum):
    PLACED = "PLACED"  #: OrderPlacedOrderEvent or status SUCCEEDED
    REPLACE = "REPLACE"  #: OrderFailedOrderEvent with retryable true: items go into a new cart
    FAILED = "FAILED"  #: OrderFailedOrderEvent with retryable false
    NEEDS_REVIEW = "NEEDS_REVIEW"  #: retryability absent, or a state this runner does not know
    ACTION_REQUIRED = "ACTION_REQUIRED"  #: 3-D Secure challenge; a person opens the URL
    STUCK = "STUCK"  #: started but not finished after stuck_after_s; never replaced
    NEVER_STARTED = "NEVER_STARTED"  #: no events after never_started_after_s: resubmit the same cart
    PENDING = "PENDING"  #: keep polling


FINAL_VERDICTS = frozenset(
    {Verdict.PLACED, Verdict.REPLACE, Verdict.FAILED, Verdict.NEEDS_REVIEW,
     Verdict.ACTION_REQUIRED, Verdict.STUCK}
)

#: The SPEC's table, in the order the rules are tried.
RULES: tuple[tuple[str, Verdict], ...] = (
    ("OrderPlacedOrderEvent or status SUCCEEDED", Verdict.PLACED),
    ("OrderFailedOrderEvent, retryable true", Verdict.REPLACE),
    ("OrderFailedOrderEvent, retryable false", Verdict.FAILED),
    ("OrderFailedOrderEvent, retryable absent", Verdict.NEEDS_REVIEW),
    ("status ACTION_REQUIRED with a CompletePaymentChallenge URL", Verdict.ACTION_REQUIRED),
    ("status FAILED or CANCELLED without a failure event; an unknown status, event or action",
     Verdict.NEEDS_REVIEW),
    ("no events for never_started_after_s", Verdict.NEVER_STARTED),
    ("started, not finished, for stuck_after_s", Verdict.STUCK),
    ("anything else", Verdict.PENDING),
)

KNOWN_EVENTS = frozenset(
    {
        "OrderSubmissionStartedOrderEvent", "OrderSubmissionSucceededOrderEvent",
        "OrderPlacedOrderEvent", "OrderFailedOrderEvent", "PaymentSucceededOrderEvent",
        "PaymentFailedOrderEvent", "PaymentRefundedOrderEvent", "TrackingObtainedOrderEvent",
        "OrderCancelStartedOrderEvent", "OrderCancelSucceededOrderEvent",
        "OrderCancelFailedOrderEvent",
    }
)
IN_PROGRESS_STATUSES = frozenset({"PENDING", "PROCESSING", "ACTION_REQUIRED"})
KNOWN_ACTIONS = frozenset({"CompletePaymentChallenge"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    never_started_after_s: float = 300.0
    stuck_after_s: float = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Classified:
    verdict: Verdict
    reason_code: str | None = None
    reason: str | None = None
    redirect_url: str | None = None


def _failure(event: EventView) -> Classified:
    code = event.reason_code or "ORDER_FAILED"
    match event.retryable:
        case True:
            return Classified(verdict=Verdict.REPLACE, reason_code=code, reason=event.reason)
        case False:
            return Classified(verdict=Verdict.FAILED, reason_code=code, reason=event.reason)
        case None:
            reason = event.reason or "Rye did not say whether retrying is safe"
            return Classified(verdict=Verdict.NEEDS_REVIEW, reason_code=code, reason=reason)


def classify(order: RyeOrderView, *, waited_s: float, policy: Policy) -> Classified:
    """Classify one Rye order. `waited_s` runs from the cart's latest submitCart request."""
    names = [e.typename for e in order.events]
    if "OrderPlacedOrderEvent" in names or order.status == "SUCCEEDED":
        return Classified(verdict=Verdict.PLACED)
    failures = [e for e in order.events if e.typename == "OrderFailedOrderEvent"]
    if failures:
        return _failure(failures[-1])
    if order.status == "ACTION_REQUIRED" and order.redirect_urls:
        return Classified(
            verdict=Verdict.ACTION_REQUIRED,
            reason_code="PAYMENT_CHALLENGE",
            reason="3-D Secure: the buyer must complete the payment challenge",
            redirect_url=order.redirect_urls[0],
        )
    unknown = [f"event {n}" for n in names if n not in KNOWN_EVENTS]
    unknown += [f"required action {a}" for a in order.action_types if a not in KNOWN_ACTIONS]
    if order.status not in IN_PROGRESS_STATUSES or unknown:
        what = f"unexpected {unknown[0]}" if unknown else f"status {order.status}"
        return Classified(
            verdict=Verdict.NEEDS_REVIEW,
            reason_code="UNEXPECTED_STATE",
            reason=f"Rye order shows {what}; check it in Rye's console",
        )
    if not names:
        if waited_s >= policy.never_started_after_s:
            return Classified(verdict=Verdict.NEVER_STARTED)
        return Classified(verdict=Verdict.PENDING)
    if waited_s >= policy.stuck_after_s:
        return Classified(
            verdict=Verdict.STUCK,
            reason_code="STUCK",
            reason=f"submission started but did not finish within {policy.stuck_after_s:g} s",
        )
    return Classified(verdict=Verdict.PENDING)
