"""What a submitCart answer means for each item of the cart (SPEC step 3 and its precise rules).

`retryable` applies to the errors of the answer it comes with, store by store: a store that
reports ALREADY_SUBMITTED or no error goes on to polling; a store with another error follows
`retryable` (true: submit the same cart again; false: FAILED; absent: NEEDS_REVIEW).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

ALREADY_SUBMITTED = "ALREADY_SUBMITTED"

#: An item is named by (marketplace, product id), the way cart lines and Rye orders name it.
ItemKey: TypeAlias = tuple[str, str]


class StoreFate(StrEnum):
    POLL = "POLL"  #: submitted (or already was): learn the outcome by polling
    RETRY = "RETRY"  #: retryable error: the same cart may be submitted again
    FAILED = "FAILED"  #: retryable false
    NEEDS_REVIEW = "NEEDS_REVIEW"  #: retryability absent


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreAnswer:
    items: tuple[ItemKey, ...]
    is_submitted: bool
    error_codes: tuple[str, ...]
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    fate: StoreFate
    code: str | None = None
    message: str | None = None


def _by_retryable(retryable: bool | None, code: str, message: str | None) -> Judgement:
    match retryable:
        case True:
            return Judgement(fate=StoreFate.RETRY, code=code, message=message)
        case False:
            return Judgement(fate=StoreFate.FAILED, code=code, message=message)
        case None:
            return Judgement(fate=StoreFate.NEEDS_REVIEW, code=code, message=message)


def judge_submission(
    items: tuple[ItemKey, ...],
    *,
    stores: tuple[StoreAnswer, ...],
    cart_error_codes: tuple[str, ...],
    cart_message: str | None,
    retryable: bool | None,
) -> dict[ItemKey, Judgement]:
    """Decide, for every item of the cart, what follows from one submitCart answer."""
    cart_errors = [c for c in cart_error_codes if c != ALREADY_SUBMITTED]
    fates: dict[ItemKey, Judgement] = {}
    for store in stores:
        store_errors = [c for c in store.error_codes if c != ALREADY_SUBMITTED]
        if store_errors and not store.is_submitted:
            judgement = _by_retryable(retryable, store_errors[0], store.message)
        elif cart_errors and not store.is_submitted and ALREADY_SUBMITTED not in store.error_codes:
            judgement = _by_retryable(retryable, cart_errors[0], cart_message)
        else:
            judgement = Judgement(fate=StoreFate.POLL)
        for key in store.items:
            fates[key] = judgement
    for key in items:
        if key in fates:
            continue
        if cart_errors:
            fates[key] = _by_retryable(retryable, cart_errors[0], cart_message)
        else:
            fates[key] = Judgement(fate=StoreFate.POLL)
    return fates
