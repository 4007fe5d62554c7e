"""Where an unfinished order stopped, from its carts' journal facts; counts and listing order."""

from __future__ import annotations

import pytest

from batch_runner.core.unfinished import CartFacts, StopPoint, UnfinishedOrder, stop_point, tally

P = StopPoint


def cart(generation: int, *, cart_id: str | None = "c", submits: int = 0, decided: bool = False,
         replacing: bool = True) -> CartFacts:
    return CartFacts(generation=generation, cart_id=cart_id, submits=submits, decided=decided,
                     replacing=replacing)


@pytest.mark.parametrize(("carts", "point"), [
    ([], P.NOT_STARTED),
    ([cart(0, cart_id=None)], P.CART_PENDING),  # createCart queued or sent, no cart recorded
    ([cart(0)], P.CART_CREATED),
    ([cart(0, submits=1)], P.SUBMITTED),
    ([cart(0, submits=3)], P.SUBMITTED),
    ([cart(0, submits=1, decided=True)], P.REPLACEMENT_DUE),
    ([cart(0, submits=1, decided=True, replacing=False)], P.DECIDED),  # placed; killed before its ledger line
    ([cart(0, submits=1, decided=True), cart(1)], P.CART_CREATED),
    ([cart(1, submits=1), cart(0, submits=1, decided=True)], P.SUBMITTED),  # the latest decides
])
def test_stop_point_follows_the_latest_cart(carts: list[CartFacts], point: StopPoint) -> None:
    """One row per way an order can be caught by a stop."""
    assert stop_point(carts) is point


def test_tally_lists_orders_with_money_in_flight_first_and_counts_the_rest() -> None:
    """Submitted before created before not started, input order within; unlisted ones still counted."""
    orders = [UnfinishedOrder(order_id="N-1", line=2, point=P.NOT_STARTED),
              UnfinishedOrder(order_id="C-1", line=3, point=P.CART_CREATED),
              UnfinishedOrder(order_id="S-1", line=4, point=P.SUBMITTED),
              UnfinishedOrder(order_id="S-2", line=5, point=P.SUBMITTED)]
    result = tally(orders, count=10, input_read=True, limit=3)
    assert [o.order_id for o in result.listed] == ["S-1", "S-2", "C-1"]
    assert result.by_point == {P.SUBMITTED: 2, P.CART_CREATED: 1, P.NOT_STARTED: 7}
    assert result.unlisted == 7
