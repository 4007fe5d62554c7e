"""The night reports itself: --ping-url (healthchecks.io) and --notify-url (a JSON webhook).

`run_notified(settings, run)` wraps one `run`: it pings `URL/start`, runs, then pings `URL`
(exit 0 or 1) or `URL/fail` (exit 2 or 3, or a crash) and POSTs the summary built by
core/notice.py to the webhook. Every notification is bounded: a few attempts of a few seconds
each, never more than TOTAL_S in all, and a failure is a warning in the log, never a failure of
the run. Both URLs hold tokens and are treated as secrets (logs.url_secrets): log lines name
only their host. Requests go through the proxy the environment names (core/proxy.py), with
certificates verified.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import anyio
import orjson
import yarl

from batch_runner import __version__
from batch_runner.config import Settings
from batch_runner.core.notice import Ending, notice, ping_suffix
from batch_runner.core.proxy import ProxySettingError, is_loopback, proxy_for, proxy_urls
from batch_runner.core.rollup import Summary, summarize
from batch_runner.errors import BatchRunnerError, ConfigError, JournalError, leaves, ours_alone
from batch_runner.ledger import LEDGER_NAME, RUN_STATS_NAME, read_ledger, read_run_stats
from batch_runner.logs import RedactSecrets, setup_logging, url_secrets
from batch_runner.report import REPORT_HTML_NAME
from batch_runner.report_content import TODO
from batch_runner.transport import http_url

log = logging.getLogger("batch_runner.notify")

#: Seconds one attempt may take, connect to answer.
ATTEMPT_TIMEOUT_S = 3.0
#: Waits before the second and third attempt.
BACKOFF_S = (0.25, 1.0)
#: No notification holds the run up longer than this, whatever the network does.
TOTAL_S = 10.0
#: Answers worth another attempt; any other status but 2xx is a refusal, logged once.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_FLAGS = {"notify_url": "--notify-url", "ping_url": "--ping-url"}


def check_notify_url(url: str, option: str) -> None:
    """https anywhere, plain http only to loopback; the message never repeats the URL (a token)."""
    parts = http_url(url, option)
    if parts.scheme == "http" and not is_loopback(parts.host or ""):
        raise ConfigError(
            f"{option} uses plain http to a remote host ({parts.host}); its token would cross "
            "the network unencrypted. Use https:// (plain http is allowed only for loopback)."
        )


def check_network(settings: Settings, env: Mapping[str, str]) -> None:
    """Notification URLs and proxy variables usable, before anything is sent or created."""
    urls = [settings.api_url]
    for name, option in _FLAGS.items():
        if url := getattr(settings, name):
            check_notify_url(url, option)
            urls.append(url)
    for url in urls:
        try:
            proxy_for(url, env)
        except ProxySettingError as exc:
            raise ConfigError(str(exc)) from None


def run_secrets(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """Everything to redact in a run's logs and error lines: the key, URL tokens, proxy logins."""
    urls = [u for u in (settings.notify_url, settings.ping_url) if u] + proxy_urls(env)
    return [settings.api_key, *(s for url in urls for s in url_secrets(url))]


def _where(url: str) -> str:
    """The URL as a log line may show it: scheme and host, never the path that holds the token."""
    try:
        parts = yarl.URL(url)
        return f"{parts.scheme}://{parts.host}"
    except (ValueError, TypeError):
        return "(unparseable URL)"


@dataclass(frozen=True, slots=True)
class Notifier:
    """Sends the pings and the notice of one run; build it with `for_settings`."""

    notify_url: str | None
    ping_url: str | None
    env: Mapping[str, str]
    redact: RedactSecrets

    @classmethod
    def for_settings(cls, settings: Settings, env: Mapping[str, str]) -> Notifier:
        return cls(notify_url=settings.notify_url, ping_url=settings.ping_url, env=env,
                   redact=RedactSecrets(run_secrets(settings, env)))

    async def started(self) -> None:
        if self.ping_url:
            await self.send("start ping", self.ping_url.rstrip("/") + "/start", b"", "text/plain")

    async def ended(self, payload: dict[str, object], ending: Ending) -> None:
        """The final ping (its body is the summary text, which healthchecks.io keeps) and the
        webhook, side by side: together they take no longer than one (TOTAL_S)."""
        text = str(payload["text"])
        async with anyio.create_task_group() as tg:
            if self.ping_url:
                url = self.ping_url.rstrip("/") + ping_suffix(ending)
                tg.start_soon(self.send, "fail ping" if ending.failed else "ping", url,
                              text.encode(), "text/plain; charset=utf-8")
            if self.notify_url:
                tg.start_soon(self.send, "notification", self.notify_url, orjson.dumps(payload),
                              "application/json")

    async def send(self, what: str, url: str, body: bytes, content_type: str) -> bool:
        """POST `body` to `url`: True once answered 2xx; False (logged) otherwise."""
        problem = "gave up after the time limit"
        with anyio.move_on_after(TOTAL_S):
            for attempt in range(len(BACKOFF_S) + 1):
                if attempt:
                    await anyio.sleep(BACKOFF_S[attempt - 1])
                done, problem, again = await self._attempt(url, body, content_type)
                if done:
                    log.info("sent the %s to %s", what, _where(url))
                    return True
                if not again:
                    break
        log.warning("could not send the %s to %s: %s (the run goes on; its result is in the "
                    "report)", what, _where(url), self.redact.clean(problem))
        return False

    async def _attempt(self, url: str, body: bytes, content_type: str) -> tuple[bool, str, bool]:
        """(answered 2xx, what went wrong, worth another attempt)."""
        headers = {"Content-Type": content_type, "User-Agent": f"batch-runner/{__version__}"}
        timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, proxy=proxy_for(url, self.env)) as session,
                session.post(url, data=body, headers=headers, allow_redirects=False) as answer,
            ):
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return False, f"{type(exc).__name__}: {exc}", True
        if 200 <= status < 300:
            return True, "", False
        return False, f"HTTP {status}", status in RETRY_STATUSES


# --- the wrapper around one run ---------------------------------------------------------------


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _error_of(exc: BaseException) -> tuple[int, str, bool]:
    """(exit code, message, crashed) for an exception that ended the run."""
    ours = ours_alone(exc)
    if ours is not None:
        return ours.exit_code, str(ours), False
    bug = next(e for e in leaves(exc) if not isinstance(e, BatchRunnerError))
    return 1, f"batch-runner crashed ({type(bug).__name__}); the log has the traceback", True


def ending_after_run(out: Path | None, exit_code: int, since: str) -> Ending:
    """The ending of a run that returned: its stop reason from run_stats.json, if this run wrote it."""
    stats = read_run_stats(out / RUN_STATS_NAME) if out is not None else None
    fresh = stats is not None and (stats.finished_at or "") >= since
    if stats is not None and fresh and stats.interrupted:
        return Ending(exit_code=exit_code, stop_kind=stats.stop_kind, stop_reason=stats.stop_reason)
    if exit_code == 3:
        return Ending(exit_code=3, stop_kind="interrupted", stop_reason="interrupted")
    return Ending(exit_code=exit_code)


def ledger_summary(out: Path | None) -> Summary | None:
    """The ledger's counts and actions, or None when there is no readable ledger."""
    if out is None or not (out / LEDGER_NAME).is_file():
        return None
    try:
        return summarize(read_ledger(out / LEDGER_NAME))
    except (JournalError, OSError):
        return None


def build_payload(settings: Settings, ending: Ending, redact: RedactSecrets) -> dict[str, object]:
    out = settings.out
    report = out / REPORT_HTML_NAME if out is not None else None
    ending = Ending(exit_code=ending.exit_code, stop_kind=ending.stop_kind, crashed=ending.crashed,
                    stop_reason=redact.clean(ending.stop_reason) if ending.stop_reason else None)
    return notice(
        ledger_summary(out), ending, todo=TODO,
        report=str(report.resolve()) if report is not None and report.is_file() else None,
        out_dir=str(out.resolve()) if out is not None else None,
        input_file=str(settings.input) if settings.input is not None else None,
        host=socket.gethostname(),
    )


async def run_notified(settings: Settings, run: Callable[[], Awaitable[int]], *,
                       env: Mapping[str, str]) -> int:
    """`run()` between the start ping and the final ping + notice; returns its exit status.

    An exception from `run` (exit 2 or 3 as an error, or a bug) is notified, then re-raised for
    the command line to report as usual.
    """
    if not (settings.notify_url or settings.ping_url):
        return await run()
    # A failure to notify is logged, redacted, even when the run fails before it sets up its log.
    setup_logging(fmt=settings.log_format, quiet=settings.quiet, secrets=run_secrets(settings, env))
    notifier = Notifier.for_settings(settings, env)
    await notifier.started()
    since = _iso_now()
    try:
        code = await run()
    except Exception as exc:
        exit_code, message, crashed = _error_of(exc)
        kind = "crash" if crashed else "error"
        ending = Ending(exit_code=exit_code, stop_kind=kind, stop_reason=message, crashed=crashed)
        await notifier.ended(build_payload(settings, ending, notifier.redact), ending)
        raise
    ending = ending_after_run(settings.out, code, since)
    await notifier.ended(build_payload(settings, ending, notifier.redact), ending)
    return code
