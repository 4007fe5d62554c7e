"""The command line: argparse subcommands, settings, signals, and errors turned into exit codes.

main(argv) -> int is the one place with a broad exception handler: a BatchRunnerError becomes
its message and exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import anyio

from batch_runner import __version__
from batch_runner.client import check_api_url
from batch_runner.config import ENV_API_KEY, Settings, load_settings
from batch_runner.core.model import OrderStatus
from batch_runner.errors import BatchRunnerError, ConfigError, InputError, UsageError
from batch_runner.journal import Journal, locked
from batch_runner.load import summarize
from batch_runner.logs import RedactSecrets, setup_logging
from batch_runner.progress import make_progress
from batch_runner.report import write_reports
from batch_runner.runner import Runner, RunResult

#: After the first SIGINT/SIGTERM, in-flight requests get this long before they are cut off.
GRACE_S = 30.0

_RUN_FLAGS = {
    "api_url": ("--api-url", str, "Rye GraphQL endpoint (https, or loopback http)"),
    "never_started_after_s": ("--never-started-after", float, "seconds without events before the same cart is resubmitted (default 300)"),
    "stuck_after_s": ("--stuck-after", float, "seconds with only a started event before an order is STUCK (default 600)"),
    "max_replacements": ("--max-replacements", int, "replacement carts per order (default 2)"),
    "strict_rps": ("--strict-rps", float, "Strict tier rate: createCart + submitCart per second (default 1)"),
    "strict_buckets": ("--strict-buckets", str, "auto (learn it), shared or per-operation: whether createCart and submitCart have one Strict bucket or one each"),
    "default_rps": ("--default-rps", float, "Default tier rate: polls per second (default 100)"),
    "poll_interval_s": ("--poll-interval", float, "seconds between polls of one cart (default 5)"),
    "shopper_ip": ("--shopper-ip", str, "Rye-Shopper-IP header (else RYE_SHOPPER_IP)"),
    "max_in_flight": ("--max-in-flight", int, "orders worked on at once (default 200)"),
    "deadline": ("--deadline", str, "HH:MM or ISO time; warn at start if the run cannot finish by then"),
    "log_format": ("--log-format", str, "text or json (one JSON object per line on stderr)"),
    "progress": ("--progress", str, "auto, bar, log or none"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batch-runner",
        description="Place a night's orders through Rye's API and leave a ledger for the morning.",
    )
    parser.add_argument("--version", action="version", version=f"batch-runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="place the orders of INPUT; rerun into the same --out to resume")
    run.add_argument("input", nargs="?", type=Path, help="CSV or JSONL orders (or from --job)")
    run.add_argument("--out", type=Path, help="output directory: ledger, journal, report")
    run.add_argument("--job", type=Path, help="job file (TOML); flags override its values")
    for name, (flag, kind, text) in _RUN_FLAGS.items():
        run.add_argument(flag, dest=name, type=kind, help=text)
    run.add_argument("--quiet", action="store_true", default=None, help="no progress output")

    demo = sub.add_parser("demo", help="run sample_orders.csv against the built-in simulator")
    demo.add_argument("--out", type=Path, help="output directory (default: demo-out/<time>)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")

    sim = sub.add_parser("simulate", help="run the built-in Rye simulator alone")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--profile", default="realistic", help="happy, realistic or chaos")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--strict-rps", type=float, default=1.0)
    sim.add_argument("--default-rps", type=float, default=100.0)
    sim.add_argument("--placement-delay", type=float, default=1.0,
                     help="seconds from submission to an order's final event")
    sim.add_argument("--per-operation-strict", action="store_true",
                     help="one Strict bucket per operation instead of one shared")
    sim.add_argument("--limiter", default="token-bucket",
                     help="token-bucket, or fixed-window (windows aligned to wall-clock seconds)")
    sim.add_argument("--reset-style", default="delta",
                     help="Ratelimit-Reset as seconds from now (delta) or a Unix time (unix)")
    sim.add_argument("--fault-rate", type=float, default=0.0,
                     help="share of requests given a transport fault (503, reset, 504, slow)")

    validate = sub.add_parser("validate", help="check INPUT and send nothing")
    validate.add_argument("input", type=Path)
    validate.add_argument("--strict-rps", type=float, default=None)

    report = sub.add_parser("report", help="render report.md/report.html/ledger.csv again from DIR")
    report.add_argument("dir", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    try:
        return _dispatch(args)
    except BatchRunnerError as exc:
        _error(exc)
        return exc.exit_code
    except BaseExceptionGroup as group:
        inner = _single_error(group)
        if inner is None:
            raise
        _error(inner)
        return inner.exit_code
    except KeyboardInterrupt:
        print("batch-runner: interrupted; rerun with the same --out to resume", file=sys.stderr)  # noqa: T201
        return 3


def _error(exc: BatchRunnerError) -> None:
    """The error line on stderr, redacted like the logs (a key pasted into --api-url, say)."""
    key = os.environ.get(ENV_API_KEY, "").strip()
    print(f"batch-runner: error: {RedactSecrets([key]).clean(str(exc))}", file=sys.stderr)  # noqa: T201


def _single_error(group: BaseExceptionGroup[BaseException]) -> BatchRunnerError | None:
    """The error to report when every leaf of the group is one of ours (e.g. several AuthRefused)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    ours = [e for e in leaves if isinstance(e, BatchRunnerError)]
    return ours[0] if ours and len(ours) == len(leaves) else None


def _dispatch(args: argparse.Namespace) -> int:
    match args.command:
        case "run":
            overrides = {name: getattr(args, name) for name in _RUN_FLAGS}
            overrides.update(input=args.input, out=args.out, quiet=args.quiet)
            settings = load_settings(job_file=args.job, overrides=overrides, env=os.environ)
            return anyio.run(run_job, settings)
        case "demo":
            return anyio.run(_demo, args.out, args.quiet)
        case "simulate":
            from batch_runner.simulator.standalone import run_standalone

            return run_standalone(
                port=args.port, profile=args.profile, seed=args.seed,
                strict_rps=args.strict_rps, default_rps=args.default_rps,
                shared_strict=not args.per_operation_strict,
                placement_delay_s=args.placement_delay, limiter=args.limiter,
                reset_style=args.reset_style, fault_rate=args.fault_rate,
            )
        case "validate":
            return _validate(args.input, args.strict_rps or 1.0)
        case "report":
            return _report(args.dir)
    raise UsageError(f"unknown command {args.command}")


def _out(text: str = "") -> None:
    print(text)  # noqa: T201


def _check_run_settings(settings: Settings) -> tuple[Path, Path]:
    if settings.input is None:
        raise UsageError("no input file: give INPUT or set 'input' in the job file")
    if settings.out is None:
        raise UsageError("no output directory: give --out DIR or set 'out' in the job file")
    if not settings.api_key:
        raise ConfigError("RYE_API_KEY is not set: export your Rye API key in the environment")
    check_api_url(settings.api_url)  # before --out or the journal exists
    if not settings.shopper_ip:
        raise ConfigError("no shopper IP: give --shopper-ip or export RYE_SHOPPER_IP (Rye requires it on submitCart)")
    if not settings.input.is_file():
        raise InputError(f"{settings.input}: no such file")
    return settings.input, settings.out


async def run_job(settings: Settings, *, demo: bool = False) -> int:
    """Run one job to its end (or a stop) and print the summary; returns the exit status."""
    input_path, out = _check_run_settings(settings)
    logger = setup_logging(fmt=settings.log_format, quiet=settings.quiet, secrets=[settings.api_key])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror}") from None
    with locked(out):
        journal = Journal.open(out, input_path, check_siblings=not demo)
        try:
            shown = not settings.quiet and settings.progress != "none"
            # A whole pass over the file: only when a total or a deadline will be shown.
            summary = summarize(input_path) if shown or settings.deadline else None
            if summary is not None:
                _warn_deadline(settings, summary.orders)
            progress = make_progress(mode=settings.progress, quiet=settings.quiet, logger=logger,
                                     strict_rps=settings.strict_rps, interval_s=settings.log_interval_s)
            progress.start(summary.orders + summary.invalid if summary else None)
            runner = Runner(settings, progress=progress)
            try:
                result = await _run_with_signals(runner, journal)
            finally:
                progress.close()
        finally:
            journal.close()
        md, html = write_reports(out)
    _print_summary(result, md, html)
    return result.exit_code


async def _run_with_signals(runner: Runner, journal: Journal) -> RunResult:
    result: RunResult | None = None
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    if runner.stopping:
                        tg.cancel_scope.cancel()  # second signal: stop now (journal is durable)
                        return
                    _err("stopping: no new orders; letting requests in flight finish "
                         "(press Ctrl-C again to stop at once)")
                    runner.stop()
                    tg.start_soon(_hard_stop_after, tg.cancel_scope)

        tg.start_soon(watch)
        result = await runner.run(journal)
        tg.cancel_scope.cancel()
    if result is None:
        return RunResult(interrupted=True, out_dir=runner.out)
    return result


async def _hard_stop_after(scope: anyio.CancelScope) -> None:
    await anyio.sleep(GRACE_S)
    scope.cancel()


def _err(text: str) -> None:
    print(f"batch-runner: {text}", file=sys.stderr)  # noqa: T201


def _warn_deadline(settings: Settings, orders: int) -> None:
    if not settings.deadline:
        return
    needed_s = _strict_estimate_s(orders, settings.strict_rps)
    deadline = _parse_deadline(settings.deadline)
    left = deadline - time.time()
    if needed_s > left:
        _err(
            f"warning: {orders} orders need at least {_duration(needed_s)} of Strict budget at "
            f"{settings.strict_rps:g} requests/s, but the deadline {settings.deadline} is "
            f"{_duration(max(0.0, left))} away"
        )


def _parse_deadline(text: str) -> float:
    try:
        if len(text) == 5 and text[2] == ":":
            now = datetime.now()
            hour, minute = int(text[:2]), int(text[3:])
            target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if target <= now:
                target += timedelta(days=1)
            return target.timestamp()
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ConfigError(f"deadline {text!r} is neither HH:MM nor an ISO date-time") from None


def _strict_estimate_s(orders: int, strict_rps: float) -> float:
    """Each order needs at least createCart + submitCart, both in the Strict tier."""
    return 2 * orders / strict_rps


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def _validate(path: Path, strict_rps: float) -> int:
    summary = summarize(path)
    for bad in summary.invalid_examples:
        field = f" field {bad.field}" if bad.field else ""
        _out(f"{bad.file}:{bad.line}:{field} {bad.message} (order {bad.order_id or '?'})")
    if summary.invalid > len(summary.invalid_examples):
        _out(f"... and {summary.invalid - len(summary.invalid_examples)} more invalid orders")
    _out(f"{path}: {summary.orders} valid orders, {summary.items} line items, "
         f"{summary.invalid} invalid orders")
    _out(f"minimum run time at {strict_rps:g} Strict requests/s: "
         f"{_duration(_strict_estimate_s(summary.orders, strict_rps))} "
         "(createCart + submitCart per order; replacements add more)")
    return 1 if summary.invalid else 0


def _report(out: Path) -> int:
    if not (out / "ledger.jsonl").is_file():
        raise UsageError(f"{out} holds no ledger.jsonl; give the --out directory of a run")
    md, html = write_reports(out)
    _out(f"wrote {md}\nwrote {html}\nwrote {out / 'ledger.csv'}")
    return 0


def _print_summary(result: RunResult, md: Path, html: Path) -> None:
    total = sum(result.counts.values())
    parts = ", ".join(
        f"{result.counts[s]} {s.value}" for s in OrderStatus if result.counts.get(s)
    )
    state = "interrupted (rerun the same command to resume)" if result.interrupted else "finished"
    _out(f"\nRun {state}: {total} orders in the ledger: {parts or 'none'}")
    _out(f"  ledger: {result.out_dir / 'ledger.jsonl'} and ledger.csv")
    _out(f"  report: {md}")
    _out(f"          {html}")


async def _demo(out: Path | None, quiet: bool) -> int:
    from batch_runner.simulator import DEMO_SCRIPT, SimConfig, running_simulator

    out = out or Path("demo-out") / datetime.now().strftime("%Y%m%d-%H%M%S")
    sample = resources.files("batch_runner") / "sample_orders.csv"
    sim_config = SimConfig(
        profile="happy", seed=7, strict_rps=20.0, default_rps=200.0,
        start_delay_s=0.3, placement_delay_s=1.5, script=DEMO_SCRIPT,
    )
    async with running_simulator(sim_config) as sim:
        _out(f"Built-in Rye simulator on {sim.url}; orders from {sample}")
        with resources.as_file(sample) as sample_path:
            settings = replace(
                Settings(), input=sample_path, out=out, api_url=sim.url, api_key="demo-key",
                shopper_ip="127.0.0.1", never_started_after_s=4.0, stuck_after_s=8.0,
                poll_interval_s=0.5, strict_rps=20.0, default_rps=200.0, quiet=quiet,
            )
            return await run_job(settings, demo=True)
