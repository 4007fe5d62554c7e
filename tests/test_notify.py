"""--ping-url and --notify-url, end to end: the real CLI against the real simulator, and a real
aiohttp listener standing in for healthchecks.io and a Slack/Teams incoming webhook."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import orjson
import pytest

from batch_runner import cli
from batch_runner.simulator import SimConfig, running_simulator
from tests.notify_helpers import FAST_RUN, KEY, NETWORK_ENV, ROOT, Listener, listener
from tests.notify_helpers import cli as run_cli
from tests.pipeline.conftest import SIM_FAST, order, write_jsonl

PING_TOKEN = "5f0c1f0e-ping-token-4d2a"
HOOK_TOKEN = "T0001/B0002/hook-secret-XYZ987"


def _urls(hooks: Listener) -> tuple[str, str]:
    return f"{hooks.url}/ping/{PING_TOKEN}", f"{hooks.url}/hook/{HOOK_TOKEN}"


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (KEY, PING_TOKEN, HOOK_TOKEN, "hook-secret-XYZ987"):
            assert secret not in text


async def test_a_finished_run_pings_start_then_success_and_posts_the_summary(tmp_path: Path) -> None:
    """Exit 1 (one INVALID order): /start before anything, the success ping (exit 0 or 1) with
    the summary as its body, then one JSON POST with counts, exit code, report and actions."""
    path = write_jsonl(tmp_path / "in.jsonl", [
        order("N-1", ("AMAZON", "B0NOTE001")), order("N-2", ("SHOPIFY", "4100000002")),
        order("N-BAD", ("AMAZON", "B0NOTE003", 0)),
    ])
    out = tmp_path / "out"
    async with listener() as hooks, running_simulator(SimConfig(**SIM_FAST)) as sim:
        ping, hook = _urls(hooks)
        code, stdout, stderr = await run_cli("run", path, "--out", out, "--api-url", sim.url,
                                             "--ping-url", ping, "--notify-url", hook, *FAST_RUN)
    assert code == 1, stderr
    assert hooks.paths()[0] == f"/ping/{PING_TOKEN}/start"  # before anything else
    assert sorted(hooks.paths()[1:]) == [f"/hook/{HOOK_TOKEN}", f"/ping/{PING_TOKEN}"]
    notice = hooks.at(f"/hook/{HOOK_TOKEN}")[0].json()
    assert notice["exit_code"] == 1
    assert notice["failed"] is False
    assert notice["stop"] is None
    assert notice["counts"] == {"PLACED": 2, "NEEDS_ATTENTION": 0, "PARTIAL": 0, "FAILED": 0,
                                "INVALID": 1}
    assert notice["report"] == str((out / "report.html").resolve())
    assert notice["actions_total"] == 1
    action = notice["actions"][0]
    assert action["outcome"] == "INVALID"
    assert action["order_id"] == "N-BAD"
    assert "quantity" in action["where"]
    text = str(notice["text"])
    assert text.splitlines()[0] == "batch-runner: 2 PLACED, 1 need a person, exit 1"
    assert "INVALID N-BAD" in text
    assert f"Report: {(out / 'report.html').resolve()}" in text
    ping_body = hooks.at(f"/ping/{PING_TOKEN}")[0]
    assert ping_body.body.decode() == text
    assert hooks.at(f"/hook/{HOOK_TOKEN}")[0].content_type == "application/json"
    assert "sent the notification to http://127.0.0.1" in stderr
    _assert_no_secret(stdout, stderr, *(h.body.decode() for h in hooks.hits))


async def test_a_refused_key_sends_the_fail_ping_and_says_why(tmp_path: Path) -> None:
    """Exit 3 (the API refuses the key): /start, then /fail, and the notice names the cause."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("R-1", ("AMAZON", "B0NOTE011"))])
    async with listener() as hooks, \
            running_simulator(SimConfig(**SIM_FAST, refused_keys=frozenset({KEY}))) as sim:
        ping, hook = _urls(hooks)
        code, stdout, stderr = await run_cli("run", path, "--out", tmp_path / "out",
                                             "--api-url", sim.url, "--ping-url", ping,
                                             "--notify-url", hook, *FAST_RUN)
    assert code == 3, stderr
    assert hooks.paths()[0] == f"/ping/{PING_TOKEN}/start"
    assert sorted(hooks.paths()[1:]) == [f"/hook/{HOOK_TOKEN}", f"/ping/{PING_TOKEN}/fail"]
    notice = hooks.at(f"/hook/{HOOK_TOKEN}")[0].json()
    assert notice["exit_code"] == 3
    assert notice["failed"] is True
    assert notice["stop"]["kind"] == "error"
    assert "refused the API key" in notice["stop"]["reason"]
    assert str(notice["text"]).startswith("batch-runner: stopped (error)")
    assert "refused the API key" in stderr
    _assert_no_secret(stdout, stderr, *(h.body.decode() for h in hooks.hits))


async def test_an_input_file_that_cannot_be_used_sends_the_fail_ping(tmp_path: Path) -> None:
    """Exit 2 once the settings are known (here: no such input file) is a failure too. The
    URLs come from the environment this time (BATCH_RUNNER_PING_URL, BATCH_RUNNER_NOTIFY_URL)."""
    async with listener() as hooks:
        ping, hook = _urls(hooks)
        code, _, stderr = await run_cli(
            "run", tmp_path / "missing.csv", "--out", tmp_path / "out",
            "--api-url", "http://127.0.0.1:9/v1/query", *FAST_RUN,
            env={"BATCH_RUNNER_PING_URL": ping, "BATCH_RUNNER_NOTIFY_URL": hook})
    assert code == 2
    assert "no such file" in stderr
    assert hooks.paths()[0] == f"/ping/{PING_TOKEN}/start"
    assert sorted(hooks.paths()[1:]) == [f"/hook/{HOOK_TOKEN}", f"/ping/{PING_TOKEN}/fail"]
    notice = hooks.at(f"/hook/{HOOK_TOKEN}")[0].json()
    assert notice["exit_code"] == 2
    assert "no such file" in notice["stop"]["reason"]
    assert notice["report"] is None


async def test_sigint_sends_the_fail_ping_and_the_notice_says_interrupted(tmp_path: Path) -> None:
    """Ctrl-C during the run: exit 3, /fail, and the stop reason from the runner."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("S-1", ("AMAZON", "B0NOTE021"))])
    slow = {**SIM_FAST, "placement_delay_s": 120.0}
    async with listener() as hooks, running_simulator(SimConfig(**slow)) as sim:
        ping, hook = _urls(hooks)
        env = {**{k: v for k, v in os.environ.items() if k not in NETWORK_ENV},
               "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.1"}
        cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out",
               str(tmp_path / "out"), "--api-url", sim.url, "--ping-url", ping,
               "--notify-url", hook, *FAST_RUN]
        async with await anyio.open_process(cmd, env=env, cwd=ROOT) as process:
            with anyio.fail_after(60):
                while not any(r.operation == "submitCart" for r in sim.request_log()):  # noqa: ASYNC110 (the simulator's state)
                    await anyio.sleep(0.05)
                process.send_signal(signal.SIGINT)
                code = await process.wait()
    assert code == 3
    assert f"/ping/{PING_TOKEN}/fail" in hooks.paths()[1:]
    assert f"/ping/{PING_TOKEN}" not in hooks.paths()
    notice = hooks.at(f"/hook/{HOOK_TOKEN}")[0].json()
    assert notice["exit_code"] == 3
    assert notice["stop"] == {"kind": "interrupted", "reason": "interrupted by a signal"}


async def test_notification_failures_are_logged_and_never_fail_the_run(tmp_path: Path) -> None:
    """A ping URL on a closed port and a webhook answering 500: both are tried a few times and
    logged (host only), and the run still places its order and exits 0."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("F-1", ("AMAZON", "B0NOTE031"))])
    async with listener(lambda path: 500) as hooks, running_simulator(SimConfig(**SIM_FAST)) as sim:
        closed = f"http://127.0.0.1:9/ping/{PING_TOKEN}"  # port 9 (discard): nothing listens
        hook = f"{hooks.url}/hook/{HOOK_TOKEN}"
        code, stdout, stderr = await run_cli("run", path, "--out", tmp_path / "out",
                                             "--api-url", sim.url, "--ping-url", closed,
                                             "--notify-url", hook, *FAST_RUN)
    assert code == 0, stderr
    assert len(hooks.at(f"/hook/{HOOK_TOKEN}")) == 3  # retried: 500 is worth another attempt
    assert "could not send the notification to http://127.0.0.1: HTTP 500" in stderr
    assert "could not send the start ping to http://127.0.0.1" in stderr
    assert "could not send the ping to http://127.0.0.1" in stderr
    _assert_no_secret(stdout, stderr)


async def test_a_webhook_that_refuses_is_not_retried(tmp_path: Path) -> None:
    """404 (a deleted webhook) is logged once; asking again would not change the answer."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("F-2", ("AMAZON", "B0NOTE041"))])
    async with listener(lambda path: 404) as hooks, running_simulator(SimConfig(**SIM_FAST)) as sim:
        code, _, stderr = await run_cli("run", path, "--out", tmp_path / "out", "--api-url",
                                        sim.url, "--notify-url", f"{hooks.url}/hook/{HOOK_TOKEN}",
                                        *FAST_RUN)
    assert code == 0
    assert len(hooks.hits) == 1
    assert "HTTP 404" in stderr


@pytest.mark.parametrize("flag", ["--notify-url", "--ping-url"])
def test_plain_http_to_a_remote_host_is_refused_without_echoing_the_token(
    tmp_path: Path, flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL's token would cross the network in clear: exit 2 naming the option, not the URL."""
    monkeypatch.setenv("RYE_API_KEY", KEY)
    path = write_jsonl(tmp_path / "in.jsonl", [order("U-1", ("AMAZON", "B0NOTE051"))])
    code = cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--shopper-ip", "1.2.3.4",
                     flag, f"http://hooks.example.com/{HOOK_TOKEN}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{flag} uses plain http to a remote host (hooks.example.com)" in err
    _assert_no_secret(err)
    assert not (tmp_path / "out").exists()


def test_a_job_file_url_that_is_not_a_url_is_refused_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RYE_API_KEY", KEY)
    job = tmp_path / "job.toml"
    job.write_text(f'notify_url = "hooks.example.com/{HOOK_TOKEN}"\n')
    code = cli.main(["run", "--job", str(job)])
    err = capsys.readouterr().err
    assert code == 2
    assert "'notify_url' in" in err
    assert "must be an https:// URL" in err
    _assert_no_secret(err)


def test_the_notice_is_valid_json_with_a_text_field(tmp_path: Path) -> None:
    """build_payload on an empty --out: a notice a webhook can show even with no ledger."""
    from batch_runner.config import Settings
    from batch_runner.core.notice import Ending
    from batch_runner.logs import RedactSecrets
    from batch_runner.notify import build_payload

    settings = Settings(out=tmp_path, api_key=KEY)
    payload = build_payload(settings, Ending(exit_code=2, stop_kind="error",
                                             stop_reason=f"bad key {KEY}"), RedactSecrets([KEY]))
    decoded = orjson.loads(orjson.dumps(payload))
    assert decoded["text"].startswith("batch-runner: stopped (error), nothing in the ledger, exit 2")
    assert KEY not in decoded["text"]
    assert decoded["stop"]["reason"] == "bad key [REDACTED]"


def test_the_url_variables_are_fallbacks_behind_the_job_file_and_flags(tmp_path: Path) -> None:
    from batch_runner.config import load_settings

    env = {"BATCH_RUNNER_NOTIFY_URL": "https://env.example/hook/1",
           "BATCH_RUNNER_PING_URL": "https://env.example/ping/1"}
    job = tmp_path / "job.toml"
    job.write_text('ping_url = "https://file.example/ping/2"\n')
    settings = load_settings(job_file=job, overrides={}, env=env)
    assert settings.notify_url == "https://env.example/hook/1"
    assert settings.ping_url == "https://file.example/ping/2"
    flagged = load_settings(job_file=job, overrides={"notify_url": "https://flag.example/h/3"},
                            env=env)
    assert flagged.notify_url == "https://flag.example/h/3"
    assert "env.example" not in repr(flagged)  # secrets stay out of the repr


@pytest.mark.slow
async def test_a_webhook_that_never_answers_is_given_up_on(tmp_path: Path) -> None:
    """A listener that accepts and never answers: each attempt times out, the run ends anyway
    (bounded by notify.TOTAL_S) with a warning, and the exit status is the run's own."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("H-1", ("AMAZON", "B0NOTE061"))])
    stalled = anyio.Event()

    async def never(path: str) -> int:
        await stalled.wait()
        return 200

    async with _stalling_listener(never) as url, running_simulator(SimConfig(**SIM_FAST)) as sim:
        code, _, stderr = await run_cli("run", path, "--out", tmp_path / "out", "--api-url",
                                        sim.url, "--notify-url", f"{url}/hook/{HOOK_TOKEN}",
                                        *FAST_RUN)
        stalled.set()
    assert code == 0, stderr
    assert "could not send the notification to http://127.0.0.1" in stderr
    _assert_no_secret(stderr)


@asynccontextmanager
async def _stalling_listener(answer: Callable[[str], Awaitable[int]]) -> AsyncIterator[str]:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=await answer(request.path))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
