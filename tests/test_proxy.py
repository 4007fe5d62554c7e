"""HTTPS_PROXY / NO_PROXY, end to end through a real proxy process (tests/proxy_server.py).

The simulator and a webhook listener serve HTTPS on loopback under the names rye.test and
hooks.test, with certificates from a CA made here. Only the proxy knows where those names are
(its --map), as in a network where the proxy does the DNS: a request that skipped the proxy
could not even resolve them. The CLI runs as a subprocess with SSL_CERT_FILE naming the CA, so
certificates are verified through the tunnel exactly as they would be against Rye.
"""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import orjson
import pytest

from batch_runner.simulator import SimConfig, running_simulator
from tests.notify_helpers import FAST_RUN, KEY, ROOT, cli, listener
from tests.pipeline.conftest import SIM_FAST, order, write_jsonl

PROXY_USER, PROXY_PASSWORD = "nightly", "pr0xy-Pass-7731"
HOOK_TOKEN = "T0009/B0008/proxied-hook-token-55"


@dataclass(frozen=True)
class Names:
    ca: Path
    contexts: dict[str, ssl.SSLContext]  #: server context per DNS name


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> Names:
    """A CA, and a server certificate for each of rye.test and hooks.test signed by it."""
    d = tmp_path_factory.mktemp("proxy-pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=proxy test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    contexts = {}
    for name in ("rye.test", "hooks.test"):
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out",
                 f"{name}.pem", cwd=d)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(d / f"{name}.pem", d / f"{name}.key")
        contexts[name] = ctx
    return Names(ca=d / "ca.pem", contexts=contexts)


@dataclass(frozen=True)
class RunningProxy:
    port: int
    log: Path

    def url(self, password: str = PROXY_PASSWORD) -> str:
        return f"http://{PROXY_USER}:{password}@127.0.0.1:{self.port}"

    def records(self) -> list[dict[str, object]]:
        return [orjson.loads(line) for line in self.log.read_bytes().splitlines()]


@asynccontextmanager
async def proxy(tmp_path: Path) -> AsyncIterator[RunningProxy]:
    """tests/proxy_server.py as its own process, requiring PROXY_USER:PROXY_PASSWORD."""
    log = tmp_path / "proxy-access.log"
    cmd = [sys.executable, "-m", "tests.proxy_server", "--log", str(log),
           "--map", "rye.test=127.0.0.1", "--map", "hooks.test=127.0.0.1",
           "--auth", f"{PROXY_USER}:{PROXY_PASSWORD}"]
    async with await anyio.open_process(cmd, cwd=ROOT) as process:
        assert process.stdout is not None
        with anyio.fail_after(30):
            first = (await process.stdout.receive()).decode()
        assert first.startswith("PORT "), first
        try:
            yield RunningProxy(port=int(first.split()[1]), log=log)
        finally:
            process.terminate()
            await process.wait()


def _connects(records: list[dict[str, object]], host: str) -> list[dict[str, object]]:
    return [r for r in records if r.get("method") == "CONNECT"
            and str(r.get("target", "")).startswith(f"{host}:") and "status" in r]


async def test_a_run_through_the_proxy_places_orders_and_the_proxy_log_shows_it(
    tmp_path: Path, names: Names
) -> None:
    """API calls and the webhook go through the proxy (CONNECT, with its login), certificates
    are verified through the tunnel, and neither the key nor the proxy's password nor the
    webhook's token is printed."""
    path = write_jsonl(tmp_path / "in.jsonl",
                       [order(f"P-{n}", ("AMAZON", f"B0PROXY{n:02d}")) for n in range(3)])
    out = tmp_path / "out"
    async with proxy(tmp_path) as px, \
            running_simulator(SimConfig(**SIM_FAST), ssl_context=names.contexts["rye.test"]) as sim, \
            listener(ssl_context=names.contexts["hooks.test"]) as hooks:
        hook_port = hooks.url.rsplit(":", 1)[1]
        api = f"https://rye.test:{sim.port}/v1/query"
        hook = f"https://hooks.test:{hook_port}/hook/{HOOK_TOKEN}"
        code, stdout, stderr = await cli(
            "run", path, "--out", out, "--api-url", api, "--notify-url", hook, *FAST_RUN,
            env={"HTTPS_PROXY": px.url(), "SSL_CERT_FILE": str(names.ca)})
        truth = sim.truth()
        records = px.records()
    assert code == 0, stderr
    assert len([o for o in truth.orders.values() if o.status == "SUCCEEDED"]) == 3
    assert len((out / "ledger.jsonl").read_bytes().splitlines()) == 3
    api_tunnels = _connects(records, "rye.test")
    assert api_tunnels, records
    assert all(r["status"] == 200 and r["auth"] == "ok" for r in api_tunnels)
    assert [r["status"] for r in _connects(records, "hooks.test")] == [200]
    assert len(hooks.hits) == 1
    assert hooks.hits[0].json()["counts"]["PLACED"] == 3
    for secret in (KEY, PROXY_PASSWORD, HOOK_TOKEN):
        assert secret not in stdout + stderr
        assert secret not in px.log.read_text()


async def test_loopback_is_never_proxied(tmp_path: Path) -> None:
    """With HTTPS_PROXY and HTTP_PROXY set, a loopback API and webhook are reached directly:
    the proxy's log stays empty."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("D-1", ("AMAZON", "B0DIRECT1"))])
    async with proxy(tmp_path) as px, running_simulator(SimConfig(**SIM_FAST)) as sim, \
            listener() as hooks:
        code, _, stderr = await cli(
            "run", path, "--out", tmp_path / "out", "--api-url", sim.url,
            "--notify-url", f"{hooks.url}/hook/{HOOK_TOKEN}", *FAST_RUN,
            env={"HTTPS_PROXY": px.url(), "HTTP_PROXY": px.url(), "ALL_PROXY": px.url()})
        assert code == 0, stderr
        assert len(hooks.hits) == 1
        assert not px.log.exists() or px.records() == []


async def test_a_proxy_refusing_the_login_is_logged_without_the_password(
    tmp_path: Path, names: Names
) -> None:
    """The webhook goes through a proxy that refuses the password (407): the failure is a
    warning naming the host only; the password, raw or as Basic auth, is not in any output."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("W-1", ("AMAZON", "B0PROXY99"))])
    wrong = "Wr0ng-Proxy-Pass-4410"
    async with proxy(tmp_path) as px, running_simulator(SimConfig(**SIM_FAST)) as sim, \
            listener(ssl_context=names.contexts["hooks.test"]) as hooks:
        hook = f"https://hooks.test:{hooks.url.rsplit(':', 1)[1]}/hook/{HOOK_TOKEN}"
        code, stdout, stderr = await cli(
            "run", path, "--out", tmp_path / "out", "--api-url", sim.url, "--notify-url", hook,
            *FAST_RUN, env={"HTTPS_PROXY": px.url(wrong), "SSL_CERT_FILE": str(names.ca)})
        records = px.records()
    assert code == 0, stderr
    assert hooks.hits == []
    assert [r["status"] for r in _connects(records, "hooks.test")] == [407] * 3
    assert {r["auth"] for r in _connects(records, "hooks.test")} == {"wrong"}
    assert "could not send the notification to https://hooks.test" in stderr
    basic = base64.b64encode(f"{PROXY_USER}:{wrong}".encode()).decode()
    for secret in (wrong, basic, HOOK_TOKEN, KEY):
        assert secret not in stdout + stderr


async def test_the_api_proxy_refusing_the_login_stops_the_run_at_once(
    tmp_path: Path, names: Names
) -> None:
    """The API's tunnel refused (407): not an outage to wait out for --outage-budget, but exit 3
    within seconds, saying the proxy refused its login, nothing sent to the API, and neither the
    password nor --out left behind for a rerun to trip over."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("Y-1", ("AMAZON", "B0PROXY97"))])
    wrong = "Wr0ng-Proxy-Pass-5521"
    async with proxy(tmp_path) as px, \
            running_simulator(SimConfig(**SIM_FAST), ssl_context=names.contexts["rye.test"]) as sim:
        api = f"https://rye.test:{sim.port}/v1/query"
        with anyio.fail_after(60):
            code, stdout, stderr = await cli(
                "run", path, "--out", tmp_path / "out", "--api-url", api, *FAST_RUN,
                env={"HTTPS_PROXY": px.url(wrong), "SSL_CERT_FILE": str(names.ca)})
        records = px.records()
        requests = sim.request_log()
    assert code == 3, stderr
    assert "the proxy refused its login (HTTP 407" in stderr
    assert "HTTPS_PROXY" in stderr
    assert not requests
    assert [r["status"] for r in _connects(records, "rye.test")] == [407]
    assert not (tmp_path / "out").exists()
    basic = base64.b64encode(f"{PROXY_USER}:{wrong}".encode()).decode()
    for secret in (wrong, basic, KEY):
        assert secret not in stdout + stderr


async def test_an_unusable_proxy_setting_is_exit_2_naming_the_variable(tmp_path: Path) -> None:
    """A socks5:// proxy (aiohttp tunnels only through http:// proxies) stops the run before
    anything is sent, naming the variable and not its credentials."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("X-1", ("AMAZON", "B0PROXY98"))])
    code, _, stderr = await cli("run", path, "--out", tmp_path / "out", *FAST_RUN,
                                env={"HTTPS_PROXY": f"socks5://u:{PROXY_PASSWORD}@proxy:1080"})
    assert code == 2
    assert "HTTPS_PROXY names a socks5:// proxy" in stderr
    assert PROXY_PASSWORD not in stderr
    assert not (tmp_path / "out").exists()


async def test_a_host_in_no_proxy_is_reached_directly(tmp_path: Path, names: Names) -> None:
    """NO_PROXY names hooks.test: the webhook skips the proxy (and, as only the proxy can
    resolve that name, fails and is logged), while the proxy's log shows no hooks.test."""
    path = write_jsonl(tmp_path / "in.jsonl", [order("N-1", ("AMAZON", "B0PROXY97"))])
    async with proxy(tmp_path) as px, running_simulator(SimConfig(**SIM_FAST)) as sim:
        code, _, stderr = await cli(
            "run", path, "--out", tmp_path / "out", "--api-url", sim.url,
            "--notify-url", f"https://hooks.test:9/hook/{HOOK_TOKEN}", *FAST_RUN,
            env={"HTTPS_PROXY": px.url(), "NO_PROXY": "example.com, .hooks.test",
                 "SSL_CERT_FILE": str(names.ca)})
        records = px.records() if px.log.exists() else []
    assert code == 0, stderr
    assert "could not send the notification to https://hooks.test" in stderr
    assert records == []
