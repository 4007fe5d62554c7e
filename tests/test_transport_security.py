"""Transport security: plain http only to loopback, refused before anything is sent and saying why;
TLS certificates always verified (a custom CA only through the standard SSL_CERT_FILE).

The TLS tests serve the real simulator over HTTPS on loopback with certificates made here by
`openssl`, and run the real CLI as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from batch_runner import cli
from batch_runner.config import load_settings
from batch_runner.errors import ConfigError
from batch_runner.simulator import SimConfig, running_simulator
from batch_runner.transport import check_api_url
from tests.pipeline.conftest import SIM_FAST, order, write_jsonl

KEY = "sk_live_TRANSPORT_5e1d"
ROOT = Path(__file__).resolve().parents[1]


# --- which URLs are accepted --------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://graphql.api.rye.com/v1/query",
    "HTTPS://graphql.api.rye.com/v1/query",
    "https://10.0.0.1/v1/query",
    "http://127.0.0.1:8765/v1/query",
    "http://127.9.9.9/v1/query",
    "http://[::1]:8765/v1/query",
    "http://localhost:8765/v1/query",
    "http://LOCALHOST:8765/v1/query",
    "HTTP://127.0.0.1:8765/v1/query",
])
def test_https_anywhere_and_plain_http_to_loopback_are_accepted(url: str) -> None:
    check_api_url(url)


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/v1/query",
    "http://192.168.1.20:8080/v1/query",
    "http://example.com/v1/query",
    "HTTP://example.com/v1/query",
    "http://0.0.0.0:8765/v1/query",
    "http://localhost.evil.example/v1/query",
    "http://127.0.0.1.nip.io/v1/query",
    "http://[::ffff:7f00:1]/v1/query",  # IPv4-mapped: not treated as loopback (fail safe)
    "http://evil.example#@127.0.0.1/v1/query",
])
def test_plain_http_to_anything_but_loopback_is_refused_saying_why(url: str) -> None:
    with pytest.raises(ConfigError, match=r"plain http to a remote host.*unencrypted.*https://"):
        check_api_url(url)


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/v1/query",
    "http:///v1/query",
    "http:evil.example",
    "127.0.0.1:8765/v1/query",
    # Accepted by urllib (host 127.0.0.1) but refused by yarl, the parser aiohttp connects with:
    "http://evil.example\\@127.0.0.1/v1/query",
    # Credentials in the URL: aiohttp would refuse every request (they clash with the key's
    # Authorization header), and a key typed there would be echoed in messages.
    "https://user:pass@graphql.api.rye.com/v1/query",
    "http://evil.example:@127.0.0.1/v1/query",
    "http://evil.example;@127.0.0.1/v1/query",
])
def test_urls_that_are_not_plain_http_or_https_to_one_host_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_api_url(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1@evil.example/v1/query",  # the host is evil.example
    "http://127.0.0.1:80@evil.example/v1/query",
    "http://127.0.0.1%2f@evil.example/v1/query",
    "http://127.0.0.1\n@evil.example/v1/query",
    "https://127.0.0.1@graphql.api.rye.com/v1/query",
])
def test_a_loopback_address_before_an_at_sign_is_refused_saying_why(url: str) -> None:
    with pytest.raises(ConfigError, match=r"user name or password.*names host, not loopback"):
        check_api_url(url)


def test_a_refused_url_is_exit_2_before_the_out_dir_or_journal_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL is checked with the other settings: nothing is created, no traceback, no key."""
    monkeypatch.setenv("RYE_API_KEY", KEY)
    path = write_jsonl(tmp_path / "in.jsonl", [order("T-1", ("AMAZON", "B0TRANS01"))])
    out = tmp_path / "out"
    code = cli.main(["run", str(path), "--out", str(out), "--shopper-ip", "203.0.113.1",
                     "--api-url", "http://10.0.0.1/v1/query"])
    err = capsys.readouterr().err
    assert code == 2
    assert "plain http to a remote host" in err
    assert "https://" in err
    assert "Traceback" not in err
    assert KEY not in err
    assert not out.exists()


def test_a_key_pasted_into_the_url_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Error messages are redacted like logs: the refused URL carries the key, stderr does not."""
    monkeypatch.setenv("RYE_API_KEY", KEY)
    path = write_jsonl(tmp_path / "in.jsonl", [order("T-1", ("AMAZON", "B0TRANS01"))])
    for url in (f"http://api.example/v1/query?key={KEY}", f"https://{KEY}@api.example/v1/query"):
        code = cli.main(["run", str(path), "--out", str(tmp_path / "out"),
                         "--shopper-ip", "203.0.113.1", "--api-url", url])
        err = capsys.readouterr().err
        assert code == 2
        assert "API URL" in err
        assert KEY not in err


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the route to a private range), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # UDP: picks a source address, sends nothing
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_plain_http_to_a_reachable_remote_address_sends_nothing(tmp_path: Path) -> None:
    """A simulator listening on this machine's network address gets no request from the runner."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    async with running_simulator(SimConfig(host=address, **SIM_FAST)) as sim:
        async with aiohttp.ClientSession() as session, session.post(sim.url, json={}) as response:
            assert response.status == 401  # reachable: a request would have been seen
        seen = len(sim.request_log())
        path = write_jsonl(tmp_path / "in.jsonl", [order("T-1", ("AMAZON", "B0TRANS01"))])
        result = await _run_cli(path, tmp_path / "out", sim.url)
        assert len(sim.request_log()) == seen
    assert result.returncode == 2
    assert b"plain http to a remote host" in result.stderr
    assert b"Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- certificates are verified --------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path  #: the test CA's certificate (PEM)
    ip_cert: Path  #: leaf for IP 127.0.0.1, signed by the CA
    ip_key: Path
    dns_cert: Path  #: leaf for DNS "localhost" only, signed by the CA
    dns_key: Path

    def context(self, *, for_ip: bool = True) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if for_ip:
            ctx.load_cert_chain(self.ip_cert, self.ip_key)
        else:
            ctx.load_cert_chain(self.dns_cert, self.dns_key)
        return ctx


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def _leaf(directory: Path, name: str, san: str) -> tuple[Path, Path]:
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", f"{name}.pem",
             cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-sha256",
             "-subj", "/CN=batch-runner test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    ip_cert, ip_key = _leaf(directory, "ip", "IP:127.0.0.1")
    dns_cert, dns_key = _leaf(directory, "dns", "DNS:localhost")
    return Pki(directory / "ca.pem", ip_cert, ip_key, dns_cert, dns_key)


async def _run_cli(path: Path, out: Path, url: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    full_env = {**base, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.1", **env}
    cmd = [sys.executable, "-m", "batch_runner", "run", str(path), "--out", str(out),
           "--api-url", url, "--strict-rps", "50", "--poll-interval", "0.1",
           "--never-started-after", "5", "--stuck-after", "10", "--progress", "none"]
    with anyio.fail_after(60):
        return await anyio.run_process(cmd, env=full_env, cwd=ROOT, check=False)


@contextlib.contextmanager
def _refused_handshakes() -> Iterator[list[BaseException]]:
    """The simulator's side of a handshake the runner aborts reports an error to the event loop;
    here that is the expected result, so it is collected instead of failing the test."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    seen: list[BaseException] = []

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, ssl.SSLError | ConnectionResetError):
            seen.append(exc)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        yield seen
    finally:
        loop.set_exception_handler(previous)


def _assert_certificate_refused(result: subprocess.CompletedProcess[bytes], why: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert re.search(r"batch-runner: error: .*TLS certificate", err), err
    assert why in err, err
    assert "SSL_CERT_FILE" in err  # says how to trust a corporate CA the standard way
    assert "Traceback" not in err
    assert KEY not in err


async def test_an_untrusted_certificate_stops_the_run_and_the_ca_in_ssl_cert_file_resumes_it(
    tmp_path: Path, pki: Pki
) -> None:
    """HTTPS with a certificate from an unknown CA: exit 3, a clear message, no request reached
    the API, nothing judged (PYTHONHTTPSVERIFY=0, which turns checks off for urllib, changes
    nothing). The same run into the same --out with SSL_CERT_FILE naming the CA then places
    every order once: verification is real, and the abort was resumable."""
    path = write_jsonl(tmp_path / "in.jsonl",
                       [order(f"T-{n}", ("AMAZON", f"B0TLS{n:03d}")) for n in range(3)])
    out = tmp_path / "out"
    with _refused_handshakes() as refused:
        async with running_simulator(SimConfig(**SIM_FAST), ssl_context=pki.context()) as sim:
            assert sim.url.startswith("https://127.0.0.1:")
            untrusted = await _run_cli(path, out, sim.url, PYTHONHTTPSVERIFY="0")
            assert sim.request_log() == ()
            assert refused  # the handshake was tried, and aborted by the runner
            trusted = await _run_cli(path, out, sim.url, SSL_CERT_FILE=str(pki.ca))
            truth = sim.truth()
    _assert_certificate_refused(untrusted, "certificate verify failed")
    assert trusted.returncode == 0, trusted.stderr.decode()
    assert len(truth.carts) == 3
    assert len([o for o in truth.orders.values() if o.status == "SUCCEEDED"]) == 3
    assert len((out / "ledger.jsonl").read_bytes().splitlines()) == 3


async def test_a_certificate_for_another_host_is_refused_even_from_a_trusted_ca(
    tmp_path: Path, pki: Pki
) -> None:
    """The host name is checked too: a trusted certificate for "localhost" does not do for 127.0.0.1."""
    with _refused_handshakes():
        async with running_simulator(SimConfig(**SIM_FAST), ssl_context=pki.context(for_ip=False)) as sim:
            path = write_jsonl(tmp_path / "in.jsonl", [order("T-1", ("AMAZON", "B0TLS001"))])
            result = await _run_cli(path, tmp_path / "out", sim.url, SSL_CERT_FILE=str(pki.ca))
            assert sim.request_log() == ()
    _assert_certificate_refused(result, "mismatch")


# --- nothing turns verification off ---------------------------------------------------------------

_DISABLERS = re.compile(
    r"ssl\s*=\s*False|verify_ssl|CERT_NONE|check_hostname|_create_unverified_context"
    r"|PYTHONHTTPSVERIFY|\binsecure\b|no.verify",
    re.IGNORECASE,
)


def test_no_code_outside_the_simulator_can_turn_certificate_checks_off() -> None:
    package = ROOT / "batch_runner"
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted(package.rglob("*.py")) if "simulator" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if _DISABLERS.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize("setting", ["verify_ssl = false", "ssl = false", "insecure = true",
                                     "ca_file = \"/tmp/ca.pem\""])
def test_a_job_file_cannot_turn_verification_off(tmp_path: Path, setting: str) -> None:
    """No setting touches TLS: the job file's key is refused as unknown."""
    job = tmp_path / "job.toml"
    job.write_text(setting + "\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(job_file=job, overrides={}, env={})


@pytest.mark.parametrize("flag", ["--insecure", "--no-verify", "--no-verify-ssl", "-k"])
def test_no_flag_turns_verification_off(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "in.csv", "--out", "out", flag]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
