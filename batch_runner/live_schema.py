"""The live-schema check against the API: fetch the schema, judge it, stop or go on.

`run` calls check_before_run before its --out directory, lock or journal exist, so a mismatch
leaves nothing behind; `preflight` calls fetch_schema_check. The verdict itself is pure
(schema_check.py); this module only sends the one introspection query, through its own client
on the Default tier, and waits between attempts when the API gave no answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import anyio

from batch_runner import queries
from batch_runner.client import MAX_SCHEMA_BYTES, RyeClient
from batch_runner.config import Settings
from batch_runner.core.deadline import format_duration
from batch_runner.errors import ApiUnreachable, SchemaMismatch
from batch_runner.limits import TierLimits
from batch_runner.outage import clock_text
from batch_runner.rye_answers import Introspected, NotSent
from batch_runner.rye_variables import sample_variables
from batch_runner.schema_check import SchemaCheck, SchemaOutcome, judge_answer, unavailable

#: Waits before asking again when the API gave no answer (down, 5xx): a blip at the start of the
#: night should not leave the run unchecked. A refusal (GraphQL error, 4xx) is not asked again.
RUN_RETRY_DELAYS_S = (1.0, 2.0)
#: After those, while the API stays away before anything was sent: waits doubling up to this.
FIRST_WAIT_S, MAX_WAIT_S = 4.0, 30.0


def make_client(settings: Settings) -> RyeClient:
    """A client of its own for checks made before the run (its requests are Default tier)."""
    limits = TierLimits(strict_rps=settings.strict_rps, default_rps=settings.default_rps)
    return RyeClient(url=settings.api_url, api_key=settings.api_key,
                     shopper_ip=settings.shopper_ip, limits=limits,
                     connect_timeout_s=settings.connect_timeout_s,
                     read_timeout_s=settings.read_timeout_s, max_connections=2)


async def fetch_schema_check(
    client: RyeClient, *, retry_delays_s: Sequence[float] = ()
) -> tuple[SchemaCheck, Introspected | None]:
    """The verdict on the live schema, and the answer it came from (None: no answer at all).

    Raises AuthRefused (401/403) and CertificateRefused, as every request does.
    """
    for delay in (*retry_delays_s, None):
        answer = await client.introspect()
        if isinstance(answer, NotSent):
            check = unavailable(f"no answer from the API ({answer.reason})", reachable=False)
            got: Introspected | None = None
        elif answer.oversize:
            check = unavailable(f"the schema is larger than {MAX_SCHEMA_BYTES} bytes; not read")
            got = answer
        else:
            check = judge_answer(answer.status, answer.body, queries.ALL_DOCUMENTS,
                                 sample_variables())
            got = answer
        if check.reachable or delay is None:
            return check, got
        await anyio.sleep(delay)
    raise AssertionError("unreachable: the last attempt always returns")


async def _wait_for_the_api(
    client: RyeClient, check: SchemaCheck, since: float, budget_s: float,
    logger: logging.Logger, clock: Callable[[], float],
) -> SchemaCheck:
    """Ask again, at doubling waits, until the API answers or the outage budget is spent."""
    down = f"API unreachable since {clock_text(since)}"
    logger.warning("%s (last error: %s); nothing is sent until it answers; the run stops if "
                   "nothing answers for %s (--outage-budget)", down, check.note,
                   format_duration(budget_s))
    wait_s, attempts = FIRST_WAIT_S, 1 + len(RUN_RETRY_DELAYS_S)
    while (left_s := since + budget_s - clock()) > 0:
        await anyio.sleep(min(wait_s, left_s))
        check, _ = await fetch_schema_check(client)
        attempts += 1
        if check.reachable:
            logger.warning("API reachable again; checking its schema before anything is sent")
            return check
        wait_s = min(2 * wait_s, MAX_WAIT_S)
    raise ApiUnreachable(
        f"{down} (last error: {check.note}): nothing answered for {format_duration(budget_s)} "
        f"(--outage-budget, {attempts} attempts). Nothing was sent and --out was not touched; "
        "run the same command again when the API is reachable.")


def mismatch_message(check: SchemaCheck, api_url: str) -> str:
    head = (f"the API's live schema at {api_url} refuses what batch-runner would send; "
            "nothing was sent and --out was not touched:")
    lines = [head]
    lines += [f"  {m}" for m in check.mismatches]
    lines.append(
        "The API changed since this batch-runner was written (or --api-url names another "
        "API). Update batch-runner, or check --api-url, then run `batch-runner preflight` "
        "until it passes; see README, 'Against the real API'."
    )
    return "\n".join(lines)


async def check_before_run(
    settings: Settings, logger: logging.Logger, *, clock: Callable[[], float] = time.time,
) -> SchemaCheck:
    """Check the live schema before anything is sent; a mismatch raises SchemaMismatch (exit 2).

    An API that does not answer at all is waited for, up to --outage-budget, and then raises
    ApiUnreachable (exit 3): no Strict call may go before the check has had its answer, and
    with the API away the run has nothing to do anyway."""
    async with make_client(settings) as client:
        since = clock()
        check, _ = await fetch_schema_check(client, retry_delays_s=RUN_RETRY_DELAYS_S)
        if not check.reachable:
            check = await _wait_for_the_api(client, check, since, settings.outage_budget_s,
                                            logger, clock)
    check = replace(check, requests=client.limits.statistics().default_requests)
    if check.outcome is SchemaOutcome.MISMATCH:
        raise SchemaMismatch(mismatch_message(check, settings.api_url))
    if check.outcome is SchemaOutcome.UNAVAILABLE:
        logger.warning("live-schema check unavailable (%s); going on without it", check.note)
    else:
        logger.info("live schema %s", check.summary())
    for used in check.deprecated:
        logger.warning("the API deprecates a field the run uses: %s", used)
    return check
