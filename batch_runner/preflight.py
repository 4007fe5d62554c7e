"""`batch-runner preflight`: what a user wants to know the evening before, placing nothing.

One line per check: the API is reachable, the key is accepted, the shopper IP is set, the
documents validate against the live schema, what the Default tier's Ratelimit-* headers say, the
Strict rate, and how long the input file will take. Exit 0 when all is well, 2 when something
must be fixed (a refused key included), 3 when the API cannot be reached; when both, 2.

It sends two Default-tier reads and nothing else: the introspection query, and a poll of a cart
id that cannot exist, whose answer (CART_NOT_FOUND, or 401/403) proves whether the key is
accepted for an operation the run sends. It never sends createCart or submitCart, not even to
read the Strict tier's headers: createCart creates a cart, and no answer proves that a
submitCart for a made-up cart changes nothing on Rye's side. The Strict rate is the configured
one (`--strict-rps`, default 1/s; Rye raises it on request), and the estimate says so.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import anyio

from batch_runner.client import RyeClient
from batch_runner.config import ENV_API_KEY, Settings, load_settings
from batch_runner.core.deadline import strict_estimate_s
from batch_runner.core.snapshot import CheckoutView
from batch_runner.errors import (
    AuthRefused,
    CertificateRefused,
    ConfigError,
    InputError,
    ProxyRefused,
    TlsFailed,
)
from batch_runner.live_schema import fetch_schema_check, make_client
from batch_runner.load import summarize
from batch_runner.logs import RedactSecrets
from batch_runner.report_content import duration_text
from batch_runner.rye_answers import Introspected, Refused
from batch_runner.schema_check import SchemaCheck, SchemaOutcome
from batch_runner.transport import check_api_url

#: A cart id no API holds: polling it reads nothing and changes nothing.
PROBE_CART_ID = "batch-runner-preflight-no-such-cart"
#: Strict calls per order at least: createCart + submitCart (replacement carts add two each).


class Mark(StrEnum):
    OK = "[ ok ]"
    FAIL = "[FAIL]"
    WARN = "[warn]"
    INFO = "[info]"


@dataclass(frozen=True, slots=True)
class Line:
    mark: Mark
    text: str
    exit_code: int = 0  #: 2: the user must fix it; 3: the API cannot be reached
    details: tuple[str, ...] = ()  #: indented lines under it (each mismatch)


@dataclass(slots=True)
class Findings:
    """What the network checks found; lines are printed in a fixed order afterwards."""

    api: Line | None = None
    key: Line | None = None
    schema: list[Line] = field(default_factory=list)
    default_tier: Line | None = None


def exit_code(lines: list[Line]) -> int:
    """2 when anything must be fixed (even if the API is also unreachable), else 3, else 0."""
    codes = {line.exit_code for line in lines}
    return 2 if 2 in codes else 3 if 3 in codes else 0


def run_preflight(
    *, input_path: Path | None, job: Path | None, api_url: str | None, shopper_ip: str | None,
    strict_rps: float | None = None, env: Mapping[str, str] = os.environ,
    write: Callable[[str], None] | None = None,
) -> int:
    """Run every check, print one line each, and return the exit status."""
    overrides = {"input": input_path, "api_url": api_url, "shopper_ip": shopper_ip,
                 "strict_rps": strict_rps}
    settings = load_settings(job_file=job, overrides=overrides, env=env)
    lines = anyio.run(checks, settings)
    secret = RedactSecrets([env.get(ENV_API_KEY, "").strip()])
    show = write or _print
    for line in lines:
        show(secret.clean(f"{line.mark} {line.text}"))
        for detail in line.details:
            show(secret.clean(f"       {detail}"))
    code = exit_code(lines)
    verdict = {0: "all good: nothing to fix before the run",
               2: "something must be fixed before the run (exit 2)",
               3: "the API cannot be reached; try again later (exit 3)"}[code]
    show(f"preflight: {verdict}")
    return code


def _print(text: str) -> None:
    print(text, file=sys.stdout)  # noqa: T201


async def checks(settings: Settings) -> list[Line]:
    """Every check's line, in the order a person reads them."""
    found = await _network(settings)
    lines = [line for line in (found.api, found.key) if line is not None]
    lines.append(shopper_ip_line(settings.shopper_ip))
    lines += found.schema or [Line(Mark.INFO, "live schema: not checked (see above)")]
    if found.default_tier is not None:
        lines.append(found.default_tier)
    lines.append(Line(Mark.INFO, (
        f"Strict tier: {settings.strict_rps:g} requests/s as configured (--strict-rps or the job "
        "file), not measured: reading its headers would take a createCart or submitCart, which may create "
        "or change a cart")))
    lines.append(estimate_line(settings))
    return lines


async def _network(settings: Settings) -> Findings:
    found = Findings()
    try:
        check_api_url(settings.api_url)
    except ConfigError as exc:
        found.api = Line(Mark.FAIL, f"API URL: {exc}", 2)
        return found
    if not settings.api_key:
        found.key = Line(Mark.FAIL, f"no API key: export {ENV_API_KEY} (nothing was sent)", 2)
        return found
    try:
        async with make_client(settings) as client:
            await _ask(client, settings, found)
    except AuthRefused as exc:
        found.api = found.api or Line(Mark.OK, f"API reachable at {settings.api_url}")
        found.key = Line(Mark.FAIL, f"key refused: {_first_sentence(exc)}; check {ENV_API_KEY} "
                         "(keys are per environment: a staging key fails on production)", 2)
    except (CertificateRefused, TlsFailed, ProxyRefused) as exc:
        found.api = Line(Mark.FAIL, f"API not reached at {settings.api_url}: {exc}", 3)
    return found


async def _ask(client: RyeClient, settings: Settings, found: Findings) -> None:
    check, answer = await fetch_schema_check(client)
    if answer is None or not check.reachable:
        found.api = Line(Mark.FAIL, f"API not reached at {settings.api_url}: {check.note}", 3)
        return
    found.api = Line(Mark.OK, f"API reachable at {settings.api_url} (HTTP {answer.status})")
    found.schema = schema_lines(check)
    found.default_tier = default_tier_line(answer, settings.default_rps)
    poll = await client.checkout(PROBE_CART_ID)  # AuthRefused propagates: the key is refused
    if isinstance(poll, CheckoutView | Refused):
        said = f": {poll.code}" if isinstance(poll, Refused) else ""
        found.key = Line(Mark.OK, f"key accepted (a poll of a made-up cart id was answered{said})")
    else:
        found.key = Line(Mark.FAIL, f"key not checked: no answer to a poll ({poll.reason})", 3)


def _first_sentence(exc: Exception) -> str:
    return str(exc).split(". ")[0]


def shopper_ip_line(shopper_ip: str | None) -> Line:
    if not shopper_ip:
        return Line(Mark.FAIL, "shopper IP not set: give --shopper-ip or export RYE_SHOPPER_IP "
                    "(Rye refuses submitCart without it)", 2)
    address = ipaddress.ip_address(shopper_ip)
    if not address.is_global:
        return Line(Mark.WARN, f"shopper IP {shopper_ip} is not a public address; Rye expects "
                    "the shopper's public IP (fine against the simulator)")
    return Line(Mark.OK, f"shopper IP set: {shopper_ip}")


def schema_lines(check: SchemaCheck) -> list[Line]:
    match check.outcome:
        case SchemaOutcome.CHECKED:
            lines = [Line(Mark.OK, f"live schema: {check.summary()}")]
        case SchemaOutcome.MISMATCH:
            lines = [Line(Mark.FAIL, f"live schema: {len(check.mismatches)} document problem(s); "
                          "`run` would stop before its first order (update batch-runner or "
                          "check --api-url)", 2, tuple(str(m) for m in check.mismatches))]
        case _:
            lines = [Line(Mark.WARN, f"live schema {check.summary()}; `run` will say so and go "
                          "on without the check")]
    lines += [Line(Mark.WARN, f"the API deprecates a field the run uses: {d}")
              for d in check.deprecated]
    return lines


def default_tier_line(answer: Introspected, default_rps: float) -> Line:
    """What the introspection answer's Ratelimit-* headers say about its tier."""
    headers = {k.lower(): v for k, v in answer.headers.items()}
    names = ("Tier", "Limit", "Remaining", "Reset")
    seen = {n: headers[f"ratelimit-{n.lower()}"] for n in names if f"ratelimit-{n.lower()}" in headers}
    if not seen:
        return Line(Mark.WARN, "Default tier: the answer carries no Ratelimit-* header; the "
                    f"configured {default_rps:g} requests/s (--default-rps) applies")
    said = ", ".join(f"{n} {v}" for n, v in seen.items())
    try:
        limit = float(seen.get("Limit", "nan"))
    except ValueError:
        limit = float("nan")
    if limit < default_rps:
        return Line(Mark.WARN, f"{seen.get('Tier', 'Default')} tier: Ratelimit-{said}; "
                    f"--default-rps {default_rps:g} is above the server's limit: lower it")
    return Line(Mark.OK, f"{seen.get('Tier', 'Default')} tier: Ratelimit-{said} "
                f"(--default-rps {default_rps:g})")


def estimate_line(settings: Settings) -> Line:
    """Orders x 2 Strict calls at the configured Strict rate: the night's minimum."""
    if settings.input is None:
        return Line(Mark.INFO, "no input file given: no run-time estimate")
    try:
        summary = summarize(settings.input)
    except InputError as exc:
        return Line(Mark.FAIL, f"input: {exc}", 2)
    seconds = strict_estimate_s(summary.orders, settings.strict_rps)
    text = (f"{settings.input}: {summary.orders} orders, {summary.items} line items; at least "
            f"{duration_text(seconds)} at {settings.strict_rps:g} Strict requests/s "
            "(createCart + submitCart per order; replacement carts add more)")
    if summary.invalid:
        return Line(Mark.WARN, f"{text}; {summary.invalid} invalid orders will not be sent "
                    "(see `batch-runner validate`)")
    return Line(Mark.OK, text)
