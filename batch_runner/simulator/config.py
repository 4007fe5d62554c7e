"""What the simulator does: its settings, the scriptable behaviours, the named profiles."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Behaviour(StrEnum):
    PLACE = "PLACE"  #: placed after placement_delay_s
    NOT_FOUND = "NOT_FOUND"  #: createCart answers PRODUCT_NOT_FOUND and leaves it out
    SUBMIT_RETRYABLE_ONCE = "SUBMIT_RETRYABLE_ONCE"  #: first submit: UPSTREAM_SERVICE_ERROR, retryable
    SUBMIT_RETRYABLE_ALWAYS = "SUBMIT_RETRYABLE_ALWAYS"
    SUBMIT_FAIL_FALSE = "SUBMIT_FAIL_FALSE"  #: PAYMENT_FAILED, retryable false
    SUBMIT_FAIL_ABSENT = "SUBMIT_FAIL_ABSENT"  #: SUBMIT_CART_FAILED, retryable absent
    STORE_SUBMIT_RETRYABLE_ONCE = "STORE_SUBMIT_RETRYABLE_ONCE"  #: only this store fails, retryably
    PLACE_FAIL_RETRYABLE_ONCE = "PLACE_FAIL_RETRYABLE_ONCE"  #: first Rye order fails retryably
    PLACE_FAIL_RETRYABLE_ALWAYS = "PLACE_FAIL_RETRYABLE_ALWAYS"
    PLACE_FAIL_FALSE = "PLACE_FAIL_FALSE"  #: OrderFailedOrderEvent retryable false, OUT_OF_STOCK
    PLACE_FAIL_ABSENT = "PLACE_FAIL_ABSENT"  #: OrderFailedOrderEvent without retryable
    NEVER_STARTS_ONCE = "NEVER_STARTS_ONCE"  #: first submission never starts; a resubmission does
    STUCK = "STUCK"  #: only OrderSubmissionStartedOrderEvent, forever
    ACTION_REQUIRED = "ACTION_REQUIRED"  #: 3-D Secure challenge with a redirect URL
    SUBMIT_503_ONCE = "SUBMIT_503_ONCE"  #: first submit: HTTP 503, not processed
    SUBMIT_504_AFTER_ONCE = "SUBMIT_504_AFTER_ONCE"  #: first submit: processed, then HTTP 504
    SUBMIT_RESET_ONCE = "SUBMIT_RESET_ONCE"  #: first submit: connection closed, not processed
    SUBMIT_SLOW_ONCE = "SUBMIT_SLOW_ONCE"  #: first submit: answered after slow_s, processed
    UNKNOWN_EVENT = "UNKNOWN_EVENT"  #: the order ends CANCELLED, a state the runner does not expect
    # A newer API than the runner's (SimConfig.newer_api): values the runner has never seen.
    NEWER_STATUS = "NEWER_STATUS"  #: the order (and checkout) goes to status ON_HOLD
    NEWER_EVENT = "NEWER_EVENT"  #: the order shows an OrderHeldOrderEvent and stays PROCESSING
    NEWER_SUBMIT_ERROR = "NEWER_SUBMIT_ERROR"  #: submit: ORDER_LIMIT_EXCEEDED, retryable absent
    NEWER_ACTION = "NEWER_ACTION"  #: ACTION_REQUIRED with a CompleteAddressVerification action
    # Prices (simulator/pricing.py): the item is placed normally, its cart's cost is unusual.
    OVERPRICED = "OVERPRICED"  #: costs 100 times its usual price (a price that jumped overnight)
    COST_ESTIMATED_ONCE = "COST_ESTIMATED_ONCE"  #: createCart's cost isEstimated (too low); getCart final
    COST_ABSENT_ONCE = "COST_ABSENT_ONCE"  #: createCart's cost is null; getCart gives it
    COST_NEVER_FINAL = "COST_NEVER_FINAL"  #: the cost stays estimated on every read
    FOREIGN_CURRENCY = "FOREIGN_CURRENCY"  #: the cart is priced in EUR


class Fault(StrEnum):
    """What one request gets instead of a plain answer (SimConfig.faults, Simulator.add_faults)."""

    RATE_LIMITED = "429"  #: 429 with Ratelimit-* headers (Reset = fault_reset_s), not processed
    RATE_LIMITED_BARE = "429_bare"  #: 429 without any Ratelimit-* header, not processed
    UNAVAILABLE = "503"  #: 503 before processing
    RESET = "reset"  #: the connection is closed before processing
    TIMEOUT_AFTER = "504_after"  #: processed, then 504
    SLOW = "slow"  #: processed and answered after slow_s
    HTML = "html"  #: a proxy's HTML error page with HTTP 200, not processed
    NO_DATA = "no_data"  #: HTTP 200, a JSON object with neither data nor errors, not processed
    ERRORS_ONLY = "errors_only"  #: HTTP 200, a GraphQL errors array without data, not processed
    HUGE = "huge"  #: processed; the answer is padded to huge_body_bytes
    HUGE_STREAMED = "huge_streamed"  #: the same, chunked: no Content-Length tells its size
    PADDED = "padded"  #: processed; the answer is padded to padded_body_bytes (a sane size)
    SHRINK_ORDERS = "shrink_orders"  #: checkoutByCartID, processed, its first order left out


#: Faults after which the request was processed by the API.
PROCESSED_FAULTS = frozenset({Fault.TIMEOUT_AFTER, Fault.SLOW, Fault.HUGE, Fault.HUGE_STREAMED,
                              Fault.PADDED, Fault.SHRINK_ORDERS})


#: A plausible night: (behaviour, weight out of 1000) for the "realistic" profile.
REALISTIC_MIX: tuple[tuple[Behaviour, int], ...] = (
    (Behaviour.PLACE_FAIL_RETRYABLE_ONCE, 40), (Behaviour.PLACE_FAIL_FALSE, 20),
    (Behaviour.SUBMIT_RETRYABLE_ONCE, 25), (Behaviour.NOT_FOUND, 15), (Behaviour.STUCK, 3),
    (Behaviour.ACTION_REQUIRED, 5), (Behaviour.NEVER_STARTS_ONCE, 10),
    (Behaviour.PLACE_FAIL_ABSENT, 3), (Behaviour.SUBMIT_504_AFTER_ONCE, 10),
    (Behaviour.COST_ESTIMATED_ONCE, 30), (Behaviour.COST_ABSENT_ONCE, 10),
)
PROFILES = ("happy", "realistic", "chaos")
RESET_STYLES = ("delta", "unix")
#: Per-request transport faults of the "chaos" profile, as probabilities.
CHAOS_FAULTS = {"503": 0.02, "reset": 0.01, "504_after": 0.03, "slow": 0.005}


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    profile: str = "happy"
    seed: int = 0
    strict_rps: float = 1.0
    default_rps: float = 100.0
    shared_strict: bool = True
    #: How the tiers count: "token-bucket" or "fixed-window" (simulator/ratelimit.py).
    limiter: str = "token-bucket"
    #: Ratelimit-Reset as seconds from now ("delta") or as a Unix time ("unix").
    reset_style: str = "delta"
    #: The server's clock ahead of this machine's by this many seconds (negative: behind), as
    #: a real server's is by a little: its fixed windows start, and its Unix Resets are, on its
    #: own clock, not on the runner's.
    clock_offset_s: float = 0.0
    #: Transport faults (the chaos mix of 503, reset, 504 after processing, slow) on this share
    #: of requests, whatever the profile; 0: the profile decides (only "chaos" has them).
    fault_rate: float = 0.0
    start_delay_s: float = 0.2
    placement_delay_s: float = 1.0
    slow_s: float = 2.0
    script: Mapping[str, Behaviour] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    require_auth: bool = True
    refused_keys: frozenset[str] = frozenset({"revoked-key"})
    max_body_bytes: int = 1 << 20
    #: operation name -> faults for its next requests, in order (None: answer normally). Counted
    #: over requests that pass auth and the rate tier; a fault applies to one request.
    faults: Mapping[str, Sequence[Fault | None]] = field(default_factory=dict)
    fault_reset_s: float = 1.0  #: Ratelimit-Reset of a scripted 429
    huge_body_bytes: int = 8 << 20
    padded_body_bytes: int = 1 << 20
    #: Serve a newer schema: OrderStatus/CheckoutStatus ON_HOLD, OrderHeldOrderEvent,
    #: SubmitCartResultErrorCode ORDER_LIMIT_EXCEEDED, the OrderRequiredAction
    #: CompleteAddressVerification (needed by the NEWER_* behaviours).
    newer_api: bool = False
    #: Serve this SDL file instead of the built-in schema.graphql (a drifted API, in tests).
    schema_path: str | None = None
    #: Refuse introspection queries with a GraphQL error at this HTTP status (200, or 400 as
    #: Apollo Server does), as servers with introspection turned off do; None: answer them.
    refuse_introspection: int | None = None
    #: Keep carts and orders in this file (simulator/persist.py): loaded at start, saved after
    #: every createCart/submitCart and at shutdown. The demo's --out holds one, so an
    #: interrupted demo resumes against the carts it created. None: state lives in memory only.
    state_path: Path | None = None


def chaos_mix(config: SimConfig) -> dict[str, float]:
    """Probability of each transport fault per request: the chaos mix, scaled to fault_rate."""
    if config.fault_rate > 0:
        scale = config.fault_rate / sum(CHAOS_FAULTS.values())
        return {fault: p * scale for fault, p in CHAOS_FAULTS.items()}
    return dict(CHAOS_FAULTS) if config.profile == "chaos" else {}


def behaviour_of(product_id: str, config: SimConfig) -> Behaviour:
    """The scripted behaviour, else the profile's, deterministic from the seed and the id."""
    if product_id in config.script:
        return config.script[product_id]
    if config.profile == "happy":
        return Behaviour.PLACE
    digest = hashlib.blake2b(f"{config.seed}:{product_id}".encode(), digest_size=8).digest()
    roll = int.from_bytes(digest, "big") % 1000
    for behaviour, weight in REALISTIC_MIX:
        if roll < weight:
            return behaviour
        roll -= weight
    return Behaviour.PLACE


def shopify_store(variant_id: str) -> str:
    digest = hashlib.blake2b(variant_id.encode(), digest_size=2).digest()
    return ("shop-a.myshopify.com", "shop-b.myshopify.com", "shop-c.myshopify.com")[digest[0] % 3]


#: The demo's script: sample_orders.csv's products, one outcome each.
DEMO_SCRIPT: Mapping[str, Behaviour] = {
    "B0DEMO0RTRY": Behaviour.PLACE_FAIL_RETRYABLE_ONCE,
    "44000000000102": Behaviour.PLACE_FAIL_RETRYABLE_ONCE,
    "B0DEMO0NOSTK": Behaviour.PLACE_FAIL_FALSE,
    "B0DEMO0CARD": Behaviour.SUBMIT_FAIL_FALSE,
    "B0DEMO0STUCK": Behaviour.STUCK,
    "44000000000303": Behaviour.ACTION_REQUIRED,
    "B0DEMO0REVW": Behaviour.PLACE_FAIL_ABSENT,
    "B0DEMO0GONE": Behaviour.NOT_FOUND,
    "44000000000404": Behaviour.STORE_SUBMIT_RETRYABLE_ONCE,
    "B0DEMO0T504": Behaviour.SUBMIT_504_AFTER_ONCE,
    "B0DEMO0NVST": Behaviour.NEVER_STARTS_ONCE,
    "B0DEMO0UPST": Behaviour.SUBMIT_RETRYABLE_ONCE,
}
