"""The simulator over real HTTP: auth, headers, tiers and 429s, schema validation, Rye's rules."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from batch_runner import queries
from batch_runner.simulator import Behaviour, SimConfig, running_simulator

AUTH = {"Authorization": "Basic " + base64.b64encode(b"sim-key:").decode(), "Rye-Shopper-IP": "1.2.3.4"}
ITEMS = {"amazonCartItemsInput": [{"productId": "B00A2KD8NY", "quantity": 1}], "shopifyCartItemsInput": []}
BUYER = {"firstName": "Ada", "lastName": "L", "address1": "1 Main", "city": "X", "postalCode": "1", "countryCode": "US"}


async def post(session: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any],
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    async with session.post(url, json={"query": query, "variables": variables},
                            headers=AUTH if headers is None else headers) as resp:
        body = await resp.json(content_type=None)
        return resp.status, dict(resp.headers), body


async def create(session: aiohttp.ClientSession, url: str, items: dict[str, Any] = ITEMS) -> str:
    _, _, body = await post(session, url, queries.CREATE_CART, {"input": {"items": items, "buyerIdentity": BUYER}})
    return str(body["data"]["createCart"]["cart"]["id"])


def cfg(**kwargs: Any) -> SimConfig:
    base: dict[str, Any] = {"strict_rps": 100.0, "default_rps": 1000.0, "start_delay_s": 0.01, "placement_delay_s": 0.05}
    return SimConfig(**{**base, **kwargs})


async def test_requests_without_basic_auth_get_401() -> None:
    """No Authorization header, or a refused key, is HTTP 401/403 and nothing is processed."""
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        status, _, _ = await post(session, sim.url, queries.CREATE_CART, {}, headers={})
        revoked = {"Authorization": "Basic " + base64.b64encode(b"revoked-key:").decode()}
        status2, _, _ = await post(session, sim.url, queries.CREATE_CART, {}, headers=revoked)
        assert not sim.truth().carts
    assert (status, status2) == (401, 403)


async def test_every_answer_carries_ratelimit_headers_and_strict_429s_are_not_processed() -> None:
    """Over the Strict limit: 429 with Ratelimit-* headers, and the cart is not created."""
    async with running_simulator(cfg(strict_rps=2.0)) as sim, aiohttp.ClientSession() as session:
        answers = [await post(session, sim.url, queries.CREATE_CART,
                              {"input": {"items": ITEMS, "buyerIdentity": BUYER}}) for _ in range(4)]
        carts = len(sim.truth().carts)
    statuses = [a[0] for a in answers]
    assert statuses == [200, 200, 429, 429]
    assert carts == 2
    for _, headers, _ in answers:
        assert headers["Ratelimit-Tier"] == "Strict"
        assert {"Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"} <= set(headers)
    assert int(answers[2][1]["Ratelimit-Reset"]) >= 1


@pytest.mark.parametrize(("shared", "second"), [(True, 429), (False, 200)])
async def test_strict_bucket_shared_or_per_operation(shared: bool, second: int) -> None:
    """With one shared bucket a submit right after a create is limited; with one per operation it is not."""
    async with running_simulator(cfg(strict_rps=1.0, shared_strict=shared)) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        status, _, _ = await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}})
    assert status == second


async def test_unix_style_reset_is_a_unix_time() -> None:
    """reset_style unix sends Ratelimit-Reset as a Unix time."""
    async with running_simulator(cfg(reset_style="unix")) as sim, aiohttp.ClientSession() as session:
        _, headers, _ = await post(session, sim.url, queries.CHECKOUT_BY_CART_ID, {"cartID": "x"})
    assert int(headers["Ratelimit-Reset"]) > 1_600_000_000


async def test_an_invalid_query_is_a_graphql_error() -> None:
    """A query the schema does not allow is answered with errors, as a GraphQL server would."""
    bad = queries.CHECKOUT_BY_CART_ID.replace("cartID: $cartID", "id: $cartID")
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        status, _, body = await post(session, sim.url, bad, {"cartID": "x"})
    assert status == 200
    assert body["errors"]
    assert "data" not in body


async def test_submit_without_shopper_ip_is_refused() -> None:
    """submitCart without Rye-Shopper-IP gets SHOPPER_IP_IS_REQUIRED and nothing is submitted."""
    headers = {"Authorization": AUTH["Authorization"]}
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        _, _, body = await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}}, headers)
        assert not sim.truth().orders
    assert body["data"]["submitCart"]["errors"][0]["code"] == "SHOPPER_IP_IS_REQUIRED"


async def test_second_submission_is_already_submitted() -> None:
    """Submitting a fully submitted cart again answers ALREADY_SUBMITTED and places nothing new."""
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}})
        _, _, body = await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}})
        truth = sim.truth()
    assert body["data"]["submitCart"]["errors"][0]["code"] == "ALREADY_SUBMITTED"
    assert body["extensions"] == {"retryable": False}
    assert len(truth.orders) == 1
    assert truth.carts[cart_id].submit_requests == 2


async def test_504_after_processing_really_submitted() -> None:
    """SUBMIT_504_AFTER_ONCE answers 504, yet the order exists and the cart is submitted."""
    config = cfg(script={"B00A2KD8NY": Behaviour.SUBMIT_504_AFTER_ONCE})
    async with running_simulator(config) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        status, _, _ = await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}})
        truth = sim.truth()
    assert status == 504
    assert truth.carts[cart_id].submissions_processed == 1
    assert len(truth.orders) == 1


@pytest.mark.parametrize(
    ("behaviour", "code", "retryable"),
    [
        (Behaviour.SUBMIT_RETRYABLE_ONCE, "UPSTREAM_SERVICE_ERROR", True),
        (Behaviour.SUBMIT_FAIL_FALSE, "PAYMENT_FAILED", False),
        (Behaviour.SUBMIT_FAIL_ABSENT, "SUBMIT_CART_FAILED", None),
    ],
)
async def test_submission_errors_carry_retryable_true_false_or_absent(behaviour: Behaviour, code: str, retryable: bool | None) -> None:
    """Each scripted submission error comes with its extensions.retryable, or none."""
    async with running_simulator(cfg(script={"B00A2KD8NY": behaviour})) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        _, _, body = await post(session, sim.url, queries.SUBMIT_CART, {"input": {"id": cart_id}})
    assert body["data"]["submitCart"]["errors"][0]["code"] == code
    assert body.get("extensions", {}).get("retryable") == retryable


async def test_product_not_found_is_left_out_of_the_cart() -> None:
    """NOT_FOUND products come back as PRODUCT_NOT_FOUND errors; the rest is in the cart."""
    items = {"amazonCartItemsInput": [{"productId": "GONE", "quantity": 1}, {"productId": "B00A2KD8NY", "quantity": 1}]}
    async with running_simulator(cfg(script={"GONE": Behaviour.NOT_FOUND})) as sim, aiohttp.ClientSession() as session:
        _, _, body = await post(session, sim.url, queries.CREATE_CART, {"input": {"items": items, "buyerIdentity": BUYER}})
    result = body["data"]["createCart"]
    assert result["errors"][0]["code"] == "PRODUCT_NOT_FOUND"
    assert "GONE" in result["errors"][0]["message"]  # a CartError's details name no product
    lines = result["cart"]["stores"][0]["cartLines"]
    assert [line["product"]["id"] for line in lines] == ["B00A2KD8NY"]


async def test_unknown_cart_is_cart_not_found_error() -> None:
    """A cart id the API never issued is a top-level CART_NOT_FOUND_ERROR with data null."""
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        _, _, body = await post(session, sim.url, queries.CHECKOUT_BY_CART_ID, {"cartID": "nope"})
    assert body["data"]["checkoutByCartID"] is None
    assert body["errors"][0]["extensions"]["code"] == "CART_NOT_FOUND_ERROR"


async def test_truth_endpoint_serves_ground_truth_as_json() -> None:
    """GET /_sim/truth returns carts with submission counts, for subprocess tests."""
    async with running_simulator(cfg()) as sim, aiohttp.ClientSession() as session:
        cart_id = await create(session, sim.url)
        async with session.get(sim.url.replace("/v1/query", "/_sim/truth")) as resp:
            body = await resp.json()
    assert body["carts"][cart_id]["submit_requests"] == 0
