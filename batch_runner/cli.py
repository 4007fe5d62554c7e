"""The command line: argparse subcommands, settings, signals, and errors turned into exit codes.

main(argv) -> int is the one place with a broad exception handler: a BatchRunnerError becomes
its message and exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path

import anyio

from batch_runner import __version__
from batch_runner.config import CHOICES, ENV_API_KEY, Settings, load_settings
from batch_runner.core.deadline import format_duration, strict_estimate_s
from batch_runner.core.proxy import proxy_urls
from batch_runner.errors import BatchRunnerError, ConfigError, UsageError, ours_alone
from batch_runner.helptext import RUN_EPILOG, parser_options
from batch_runner.job_check import check_job
from batch_runner.journal import Journal, locked
from batch_runner.ledger_xlsx import LEDGER_XLSX_NAME
from batch_runner.live_schema import check_before_run
from batch_runner.load import file_format, summarize
from batch_runner.load_fields import describe_invalid
from batch_runner.logs import RedactSecrets, setup_logging, url_secrets
from batch_runner.notify import check_network, run_notified, run_secrets
from batch_runner.progress import make_progress
from batch_runner.report import write_reports
from batch_runner.retry_file import retry_file_command
from batch_runner.runner import Runner, RunResult
from batch_runner.summary import already_finished_line
from batch_runner.wrapup import finish_run, finished_before, write_spreadsheet_and_retry

#: The simulator's profiles (simulator.config.PROFILES; not imported: it pulls in the server).
SIM_PROFILES = ("happy", "realistic", "chaos")
#: The demo simulator's carts and orders, in the demo's --out (simulator/persist.py).
DEMO_SIM_STATE = "demo-simulator.json"
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
    "log_format": ("--log-format", str, "log lines on stderr: text, or json (one object per line)"),
    "progress": ("--progress", str, "auto (a bar on a terminal, else log lines), bar, log or none"),
    "notify_url": ("--notify-url", str, "POST a JSON summary here at the end (a secret; see below)"),
    "ping_url": ("--ping-url", str, "healthchecks.io check URL: /start, then success or /fail"),
    "max_order_total": ("--max-order-total", str, "AMOUNT: a cart whose total exceeds it is not submitted (NEEDS_REVIEW)"),
    "deadline": ("--deadline", str, "HH:MM (local, the next one), ISO time or +DURATION (+2h): no new cart is created or submitted after it; exit 3, a rerun resumes"),
    "deadline_grace_s": ("--deadline-grace", str, "after the deadline, carts already submitted are polled this long (default 10m)"),
    "outage_budget_s": ("--outage-budget", str, "the API unreachable this long (600, 90s, 10m, 1h) stops the run with exit 3 (default 30m)"),
    "stop_after_failures": ("--stop-after-failures", int, "stop creating carts when one failure code ends N orders in a row (default 50; 0: off)"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batch-runner",
        description="Place a night's orders through Rye's API and leave a ledger for the morning.",
        **parser_options(),
    )
    parser.add_argument("--version", action="version", version=f"batch-runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="place the orders of INPUT; rerun into the same --out to resume",
                         description="Place the orders of INPUT; rerun into the same --out to "
                         "resume.", **parser_options(RUN_EPILOG))
    run.add_argument("input", nargs="?", type=Path, help="CSV or JSONL orders (or from --job)")
    run.add_argument("--out", type=Path, help="output directory: ledger, journal, report")
    run.add_argument("--job", type=Path, help="job file (TOML); flags override its values")
    for name, (flag, kind, text) in _RUN_FLAGS.items():
        run.add_argument(flag, dest=name, type=kind, help=text, choices=CHOICES.get(name))
    run.add_argument("--quiet", action="store_true", default=None, help="no progress output")
    run.add_argument("--budget", nargs=2, metavar=("AMOUNT", "CURRENCY"), default=None,
                     help="the night's spend limit, e.g. 500.00 USD; exit 3 when reached")

    demo = sub.add_parser("demo", help="run sample_orders.csv against the built-in simulator",
                          **parser_options())
    demo.add_argument("--out", type=Path, help="output directory (default: demo-out/<time>)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")

    sim = sub.add_parser("simulate", help="run the built-in Rye simulator alone", **parser_options())
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--profile", default="realistic", choices=SIM_PROFILES,
                     help="which outcomes orders get (default realistic)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--strict-rps", type=float, default=1.0)
    sim.add_argument("--default-rps", type=float, default=100.0)
    sim.add_argument("--placement-delay", type=float, default=1.0,
                     help="seconds from submission to an order's final event")
    sim.add_argument("--per-operation-strict", action="store_true",
                     help="one Strict bucket per operation instead of one shared")
    sim.add_argument("--schema", type=Path, help="serve this SDL file instead of the built-in schema")
    sim.add_argument("--no-introspection", action="store_true",
                     help="refuse introspection queries (HTTP 400 with a GraphQL error)")
    sim.add_argument("--limiter", default="token-bucket", choices=("token-bucket", "fixed-window"),
                     help="token-bucket, or fixed-window (windows aligned to wall-clock seconds)")
    sim.add_argument("--reset-style", default="delta", choices=("delta", "unix"),
                     help="Ratelimit-Reset as seconds from now (delta) or a Unix time (unix)")
    sim.add_argument("--fault-rate", type=float, default=0.0,
                     help="share of requests given a transport fault (503, reset, 504, slow)")
    sim.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                     help="the server's clock ahead of this machine's (negative: behind); "
                          "fixed windows and Unix Resets follow the server's clock")

    validate = sub.add_parser("validate", help="check INPUT and send nothing", **parser_options())
    validate.add_argument("input", type=Path)
    validate.add_argument("--strict-rps", type=float, default=None)

    pre = sub.add_parser("preflight", help="check key, shopper IP, live schema and tiers; place nothing",
                         **parser_options())
    pre.add_argument("input", nargs="?", type=Path, help="CSV or JSONL orders, for a run-time estimate")
    pre.add_argument("--api-url", help=_RUN_FLAGS["api_url"][2])
    pre.add_argument("--job", type=Path, help="job file (TOML), as for run")
    pre.add_argument("--shopper-ip", help=_RUN_FLAGS["shopper_ip"][2])
    pre.add_argument("--strict-rps", type=float, help=_RUN_FLAGS["strict_rps"][2])

    quote = sub.add_parser("quote", help="create and price the carts of INPUT, never submit; "
                                         "a later run into the same --out submits them",
                           **parser_options())
    quote.add_argument("input", nargs="?", type=Path, help="CSV or JSONL orders (or from --job)")
    quote.add_argument("--out", type=Path, help="output directory: quote.csv, quote.md, journal")
    quote.add_argument("--job", type=Path, help="job file (TOML); flags override its values")
    for name in ("api_url", "strict_rps", "default_rps", "poll_interval_s", "max_in_flight",
                 "max_order_total"):
        flag, kind, text = _RUN_FLAGS[name]
        quote.add_argument(flag, dest=name, type=kind, help=text)

    report = sub.add_parser("report", help="render report.md/report.html/ledger.csv again from DIR",
                            **parser_options())
    report.add_argument("dir", type=Path)

    retry = sub.add_parser("retry-file", help="write DIR/retry.csv again: the unplaced items to "
                                              "fix and send in a new file", **parser_options())
    retry.add_argument("dir", type=Path)
    retry.add_argument("--include", metavar="OUTCOMES",
                       help="also items with these outcomes (comma-separated: NEEDS_REVIEW, "
                            "STUCK, ACTION_REQUIRED); they may be placed: check each first")
    retry.add_argument("--input", type=Path, help="the run's input file, if it has moved")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    secrets: list[str] = []  # what error lines redact, beside the key: filled as settings are known
    try:
        return _dispatch(args, secrets, list(sys.argv[1:] if argv is None else argv))
    except BatchRunnerError as exc:
        _error(exc, secrets)
        return exc.exit_code
    except BaseExceptionGroup as group:
        inner = ours_alone(group)
        if inner is None:
            raise
        _error(inner, secrets)
        return inner.exit_code
    except KeyboardInterrupt:
        print("batch-runner: interrupted; rerun with the same --out to resume", file=sys.stderr)  # noqa: T201
        return 3


def _error(exc: BatchRunnerError, secrets: Sequence[str] = ()) -> None:
    """The error line on stderr, redacted like the logs (a key pasted into --api-url, say)."""
    key = os.environ.get(ENV_API_KEY, "").strip()
    proxies = [s for url in proxy_urls(os.environ) for s in url_secrets(url)]
    text = RedactSecrets([key, *proxies, *secrets]).clean(str(exc))
    print(f"batch-runner: error: {text}", file=sys.stderr)  # noqa: T201



def _dispatch(args: argparse.Namespace, secrets: list[str], argv: list[str]) -> int:
    match args.command:
        case "run":
            overrides = {name: getattr(args, name) for name in _RUN_FLAGS}
            overrides.update(input=args.input, out=args.out, quiet=args.quiet, budget=args.budget)
            secrets += [s for url in (args.notify_url, args.ping_url) if url for s in url_secrets(url)]
            settings = load_settings(job_file=args.job, overrides=overrides, env=os.environ)
            secrets += run_secrets(settings, os.environ)
            check_network(settings, os.environ)
            resume = shlex.join(["batch-runner", *argv])  # the same command resumes the run
            return anyio.run(partial(run_notified, settings,
                                     partial(run_job, settings, resume_command=resume),
                                     env=os.environ))
        case "quote":
            from batch_runner.quote import run_quote

            names = ("api_url", "strict_rps", "default_rps", "poll_interval_s", "max_in_flight",
                     "max_order_total")
            overrides = {name: getattr(args, name) for name in names}
            overrides.update(input=args.input, out=args.out)
            settings = load_settings(job_file=args.job, overrides=overrides, env=os.environ)
            return anyio.run(run_quote, settings)
        case "demo":
            return anyio.run(_demo, args.out, args.quiet)
        case "simulate":
            from batch_runner.simulator.standalone import run_standalone

            return run_standalone(
                port=args.port, profile=args.profile, seed=args.seed,
                strict_rps=args.strict_rps, default_rps=args.default_rps,
                shared_strict=not args.per_operation_strict,
                placement_delay_s=args.placement_delay,
                schema_path=str(args.schema) if args.schema else None,
                refuse_introspection=400 if args.no_introspection else None,
                limiter=args.limiter, reset_style=args.reset_style, fault_rate=args.fault_rate,
                clock_offset_s=args.clock_offset,
            )
        case "validate":
            return _validate(args.input, args.strict_rps or 1.0)
        case "report":
            return _report(args.dir)
        case "preflight":
            from batch_runner.preflight import run_preflight

            return run_preflight(input_path=args.input, job=args.job, api_url=args.api_url,
                                 shopper_ip=args.shopper_ip, strict_rps=args.strict_rps)
        case "retry-file":
            return retry_file_command(args.dir, args.include, args.input)
    raise UsageError(f"unknown command {args.command}")


def _out(text: str = "") -> None:
    print(text)  # noqa: T201



async def run_job(settings: Settings, *, demo: bool = False, resume_command: str | None = None) -> int:
    """Run one job to its end (or a stop) and print the summary; returns the exit status.

    `resume_command` is the command line that resumes the job, for the summary and the report."""
    input_path, out = check_job(settings, submits=True)
    secrets = run_secrets(settings, os.environ)
    logger = setup_logging(fmt=settings.log_format, quiet=settings.quiet, secrets=secrets)
    # The resume command is shown in the summary and the report: no key or webhook token in it.
    command = RedactSecrets(secrets).clean(
        resume_command or shlex.join(["batch-runner", "run", str(input_path), "--out", str(out)]))
    if (finished := finished_before(out, input_path, check_siblings=not demo)) is not None:
        _out(already_finished_line(sum(finished.values())))  # nothing sent, not even the check
        return RunResult(counts=finished).exit_code
    schema_check = await check_before_run(settings, logger)  # before --out, lock or journal exist
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
            progress = make_progress(mode=settings.progress, quiet=settings.quiet, logger=logger,
                                     strict_rps=settings.strict_rps, interval_s=settings.log_interval_s)
            runner = Runner(settings, progress=progress, schema_check=schema_check)
            if summary is not None and (note := runner.guards.deadline_note(
                    summary.orders, settings.strict_rps)) is not None:
                _err(note[1])
            progress.start(summary.orders + summary.invalid if summary else None)
            try:
                result = await _run_with_signals(runner, journal)
            finally:
                progress.close()
        finally:
            journal.close()
        lines, code = finish_run(
            out_dir=out, input_path=input_path, interrupted=result.interrupted,
            stop_reason=result.stop_reason, exit_code=result.exit_code, resume_command=command)
    for line in lines:
        _out(line)
    return code


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


def _validate(path: Path, strict_rps: float) -> int:
    summary = summarize(path)
    _out(f"{path}: {file_format(path).describe()}")
    for bad in sorted(summary.invalid_examples, key=lambda b: b.line):  # as the file has them
        text = describe_invalid(bad.file, bad.line, bad.field, bad.message, whole_path=True)
        _out(f"{text} (order {bad.order_id or '?'})")
    if summary.invalid > len(summary.invalid_examples):
        _out(f"... and {summary.invalid - len(summary.invalid_examples)} more invalid orders")
    _out(f"{path}: {summary.orders} valid orders, {summary.items} line items, "
         f"{summary.invalid} invalid orders")
    _out(f"minimum run time at {strict_rps:g} Strict requests/s: "
         f"{format_duration(strict_estimate_s(summary.orders, strict_rps))} "
         "(createCart + submitCart per order; replacements add more)")
    return 1 if summary.invalid else 0


def _report(out: Path) -> int:
    if not (out / "ledger.jsonl").is_file():
        raise UsageError(f"{out} holds no ledger.jsonl; give the --out directory of a run")
    with locked(out):  # never beside a run writing the same files
        retry = write_spreadsheet_and_retry(out)
        md, html = write_reports(out)
    _out(f"wrote {md}\nwrote {html}\nwrote {out / 'ledger.csv'}\nwrote {out / LEDGER_XLSX_NAME}")
    if retry is not None:
        _out(f"wrote {retry.path}: {retry.summary()}")
    return 0


async def _demo(out: Path | None, quiet: bool) -> int:
    from batch_runner.simulator import DEMO_SCRIPT, SimConfig, running_simulator
    from batch_runner.simulator.persist import StateFileError

    out = out or Path("demo-out") / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror}") from None
    # The simulator keeps its carts in --out, so a demo run again into it resumes like a night.
    sim_config = SimConfig(
        profile="happy", seed=7, strict_rps=20.0, default_rps=200.0,
        start_delay_s=0.3, placement_delay_s=1.5, script=DEMO_SCRIPT,
        state_path=out / DEMO_SIM_STATE,
    )
    sample = resources.files("batch_runner") / "sample_orders.csv"
    try:
        async with running_simulator(sim_config) as sim:
            resumed = " (resumed: it still knows this --out's carts)" if sim.resumed else ""
            _out(f"Built-in Rye simulator on {sim.url}{resumed}; orders from {sample}")
            with resources.as_file(sample) as sample_path:
                settings = replace(
                    Settings(), input=sample_path, out=out, api_url=sim.url, api_key="demo-key",
                    shopper_ip="127.0.0.1", never_started_after_s=4.0, stuck_after_s=8.0,
                    poll_interval_s=0.5, strict_rps=20.0, default_rps=200.0, quiet=quiet,
                )
                command = ["batch-runner", "demo", "--out", str(out), *(["--quiet"] if quiet else [])]
                return await run_job(settings, demo=True, resume_command=shlex.join(command))
    except StateFileError as exc:  # raised only while loading, before anything is sent
        raise ConfigError(f"{exc}; use a new --out for a new demo") from None
