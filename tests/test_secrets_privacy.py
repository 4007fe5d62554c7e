"""Secrets and privacy, end to end: the real CLI as a subprocess against the real simulator.

Each run uses a recognisable API key and buyers whose every identity field is a recognisable
string, at the most verbose logging the CLI offers (no --quiet, progress lines as log records),
in text and in JSON. Faults make the error paths run: scripted failures of every kind, the chaos
profile's transport faults, a refused key, a SIGTERM. Then stdout, stderr and every file under the
test's directory (--out, the working directory, HOME and TMPDIR all live there) are searched for
the key in each form it could take and for each buyer value. Only the input file may hold them.
"""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import orjson
import pytest

from batch_runner import cli
from batch_runner.logs import REDACTED, RedactSecrets
from batch_runner.simulator import Behaviour, SimConfig, running_simulator
from tests.pipeline.conftest import SIM_FAST

#: '+', '/' and '=' make the base64 and percent-encoded forms differ from the key itself.
KEY = "sk_live_SEKRITprobe+k3y/Z9="
KEY_CORE = "SEKRITprobe"  #: catches a truncated or re-encoded key, too


def key_forms(key: str) -> list[bytes]:
    raw = key.encode()
    return [raw, KEY_CORE.encode(), base64.b64encode(raw + b":"), base64.b64encode(raw),
            quote(key, safe="").encode(), quote_plus(key, safe="").encode()]


BUYER = {
    "first_name": "Zebulonpii", "last_name": "Quixotepii", "email": "pii.probe.7731@example.org",
    "phone": "+1-555-0199-7731", "address1": "7731 Piiprobe Boulevard", "address2": "Suite Piiapt",
    "city": "Piiville", "province_code": "NY", "postal_code": "77310-9988", "country_code": "US",
}
BILLING = {
    "first_name": "Billpiifirst", "last_name": "Billpiilast", "phone": "+1-555-0123-4488",
    "address1": "4488 Billprobe Lane", "city": "Billpiitown", "postal_code": "44880-1234",
    "country_code": "US",
}
TOKEN = "tok_piiprobe_card_4242"
#: What must appear in no output (US/NY are left out: they are not identifying on their own).
PRIVATE = [v for k, v in (*BUYER.items(), *BILLING.items())
           if k not in ("country_code", "province_code")] + [TOKEN]


@dataclass
class Outputs:
    """Everything one test's processes wrote, by where it was written."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, result: subprocess.CompletedProcess[bytes]) -> None:
        self.blobs[f"{name}: stdout"] = result.stdout
        self.blobs[f"{name}: stderr"] = result.stderr

    def add_files(self, root: Path, inputs: Iterable[Path]) -> None:
        """Every file under root but the inputs and the retry files, which hold the input's rows
        by design: those must be readable by their owner alone."""
        skip = {p.resolve() for p in inputs}
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name in ("retry.csv", "retry.jsonl"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            elif path.is_file() and path.resolve() not in skip:
                self.blobs[str(path.relative_to(root))] = path.read_bytes()

    def holding(self, needles: Iterable[bytes | str]) -> list[str]:
        """Where each needle was found, as 'place: needle'."""
        found = []
        for needle in needles:
            raw = needle.encode() if isinstance(needle, str) else needle
            found += [f"{place}: {raw!r}" for place, blob in self.blobs.items() if raw in blob]
        return found


@dataclass
class Job:
    tmp: Path
    url: str

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    def env(self) -> dict[str, str]:
        for name in ("cwd", "home", "tmp"):
            (self.tmp / name).mkdir(exist_ok=True)
        return {**os.environ, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.9",
                "HOME": str(self.tmp / "home"), "TMPDIR": str(self.tmp / "tmp")}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "batch_runner", *args]

    def run_args(self, path: Path, fmt: str, *extra: str) -> list[str]:
        return self.command(
            "run", str(path), "--out", str(self.out), "--api-url", self.url, "--log-format", fmt,
            "--progress", "log", "--strict-rps", "50", "--default-rps", "500",
            "--poll-interval", "0.1", "--never-started-after", "1", "--stuck-after", "1.5", *extra)

    async def call(self, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        with anyio.fail_after(60):
            return await anyio.run_process(args, env=self.env(), cwd=self.tmp / "cwd", check=False)

    async def report_and_validate(self, path: Path, outputs: Outputs) -> None:
        report = await self.call(self.command("report", str(self.out)))
        assert report.returncode == 0, report.stderr
        outputs.add("report", report)
        validate = await self.call(self.command("validate", str(path)))
        assert validate.returncode in (0, 1), validate.stderr
        outputs.add("validate", validate)


def jsonl(path: Path, records: Iterable[Mapping[str, Any]], raw_lines: Iterable[bytes] = ()) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + b"".join(raw_lines))
    return path


#: The reports' action list names whom each action concerns (issue 14): the buyer's name and
#: email, and nothing else of theirs, in report.md and report.html only (written mode 0600).
NAMED_IN_REPORTS = [BUYER["first_name"], BUYER["last_name"], BUYER["email"]]
REPORTS = ("report.md", "report.html")


def assert_nothing_leaked(outputs: Outputs) -> None:
    assert outputs.holding(key_forms(KEY)) == []
    assert outputs.holding([p for p in PRIVATE if p not in NAMED_IN_REPORTS]) == []
    named = outputs.holding(NAMED_IN_REPORTS)
    assert [where for where in named if not where.split(":")[0].endswith(REPORTS)] == []


def ledger_statuses(out: Path) -> set[str]:
    return {orjson.loads(line)["status"] for line in (out / "ledger.jsonl").read_bytes().splitlines()}


#: One product per behaviour the simulator can script: every error path of the flow runs.
SCRIPT = {f"B0PRIV{n:03d}": behaviour for n, behaviour in enumerate(Behaviour)}


def faulty_orders() -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = [
        {"order_id": f"P-{n}", "buyer": BUYER, "items": [{"marketplace": "AMAZON", "product_id": pid,
                                                          "quantity": 1}]}
        for n, pid in enumerate(SCRIPT)
    ]
    orders[0].update(billing=BILLING, payment_token=TOKEN)
    orders[1].update(payment_token=TOKEN)
    return orders


#: Bad lines, each holding buyer data, that the loader must report by file/line/field only.
BAD_JSONL = [
    orjson.dumps({"order_id": "BAD-1", "buyer": {**BUYER, "city": ""}, "payment_token": TOKEN,
                  "items": [{"marketplace": "AMAZON", "product_id": "B0X", "quantity": 1}]}) + b"\n",
    orjson.dumps({"order_id": "BAD-2", "buyer": {**BUYER, "email": ["not", "text"]},
                  "items": [{"marketplace": "AMAZON", "product_id": "B0X", "quantity": 1}]}) + b"\n",
    orjson.dumps({"order_id": "BAD-3", "buyer": BUYER, "billing": {**BILLING, "postal_code": None},
                  "items": [{"marketplace": "AMAZON", "product_id": "B0X", "quantity": 1}]}) + b"\n",
    orjson.dumps({"order_id": "BAD-4", "buyer": {**BUYER, "address1": {"line": BUYER["address1"]}},
                  "items": [{"marketplace": "AMAZON", "product_id": "B0X", "quantity": 1}]}) + b"\n",
    b'{"order_id": "BAD-5", "buyer": {"email": "' + BUYER["email"].encode() + b'", \n',
    orjson.dumps({"order_id": "P-0", "buyer": BUYER,
                  "items": [{"marketplace": "AMAZON", "product_id": "B0X", "quantity": 1}]}) + b"\n",
]


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_every_error_path_leaks_neither_key_nor_buyer_data(tmp_path: Path, fmt: str) -> None:
    """Every scripted failure plus bad input lines; then `report` and `validate` on the result."""
    path = jsonl(tmp_path / "in.jsonl", faulty_orders(), BAD_JSONL)
    outputs = Outputs()
    async with running_simulator(SimConfig(profile="realistic", seed=11, script=SCRIPT, slow_s=0.3,
                                           **SIM_FAST)) as sim:
        job = Job(tmp_path, sim.url)
        result = await job.call(job.run_args(path, fmt))
        outputs.add("run", result)
        await job.report_and_validate(path, outputs)
    assert result.returncode == 1, result.stderr
    # The faults did happen, so error messages were written (and searched).
    assert {"PLACED", "FAILED", "NEEDS_ATTENTION", "INVALID"} <= ledger_statuses(job.out)
    assert b"progress:" in result.stderr  # the most verbose log records the CLI offers
    outputs.add_files(tmp_path, [path])
    assert {"out/ledger.jsonl", "out/ledger.csv", "out/journal.jsonl", "out/report.md",
            "out/report.html"} <= set(outputs.blobs)
    assert outputs.holding([b"P-3", b"BAD-1"])  # ids are written, and the search finds them
    assert_nothing_leaked(outputs)
    assert outputs.holding([BUYER["email"]])  # the action list names the buyer
    assert all((job.out / name).stat().st_mode & 0o077 == 0 for name in REPORTS)


async def test_chaos_with_csv_input_leaks_neither_key_nor_buyer_data(tmp_path: Path) -> None:
    """503s, resets, 504s after processing, slow answers; CSV input with rows that disagree."""
    header = ",".join([*BUYER, *(f"billing_{k}" for k in BILLING), "payment_token", "order_id",
                       "marketplace", "product_id", "quantity"])
    def row(oid: str, pid: str, **change: str) -> str:
        buyer = {**BUYER, **change}
        return ",".join([*buyer.values(), *BILLING.values(), TOKEN, oid, "AMAZON", pid, "1"])
    rows = [row(f"C-{n}", f"B0CHAOS{n:03d}") for n in range(16)]
    rows += [row("CBAD-1", "B0C1"), row("CBAD-1", "B0C2", email="other.pii@example.org"),
             row("CBAD-2", "B0C3", postal_code="")]
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    outputs = Outputs()
    async with running_simulator(SimConfig(profile="chaos", seed=9, slow_s=0.3, **SIM_FAST)) as sim:
        job = Job(tmp_path, sim.url)
        result = await job.call(job.run_args(path, "text"))
        outputs.add("run", result)
        await job.report_and_validate(path, outputs)
        faults = [r for r in sim.request_log() if r.http_status != 200]
    assert result.returncode == 1, result.stderr
    assert faults  # the transport faults happened
    assert "INVALID" in ledger_statuses(job.out)
    outputs.add_files(tmp_path, [path])
    assert_nothing_leaked(outputs)
    assert outputs.holding([b"other.pii@example.org"]) == []


async def test_a_refused_key_stops_the_run_without_echoing_it(tmp_path: Path) -> None:
    """The API refuses this very key (403): exit 3, a message that says so, and no key anywhere."""
    path = jsonl(tmp_path / "in.jsonl", faulty_orders()[:3])
    outputs = Outputs()
    config = SimConfig(refused_keys=frozenset({KEY}), **SIM_FAST)
    async with running_simulator(config) as sim:
        job = Job(tmp_path, sim.url)
        result = await job.call(job.run_args(path, "json"))
        outputs.add("run", result)
        refused = [r for r in sim.request_log() if r.http_status == 403]
    assert result.returncode == 3
    assert refused  # the key was sent, and refused
    assert b"refused the API key" in result.stderr
    assert b"Traceback" not in result.stderr
    outputs.add_files(tmp_path, [path])
    assert_nothing_leaked(outputs)


async def test_a_run_stopped_by_sigterm_leaks_neither_key_nor_buyer_data(tmp_path: Path) -> None:
    """SIGTERM mid-run: exit 3 with its message; then `report` renders the partial ledger."""
    orders = [{"order_id": f"S-{n}", "buyer": BUYER, "billing": BILLING, "payment_token": TOKEN,
               "items": [{"marketplace": "AMAZON", "product_id": f"B0SIG{n:03d}", "quantity": 1}]}
              for n in range(30)]
    path = jsonl(tmp_path / "in.jsonl", orders)
    outputs = Outputs()
    config = SimConfig(profile="happy", start_delay_s=0.05, placement_delay_s=0.3, strict_rps=10.0,
                       default_rps=500.0)
    async with running_simulator(config) as sim:
        job = Job(tmp_path, sim.url)
        args = [*job.run_args(path, "text"), "--strict-rps", "10"]
        async with await anyio.open_process(args, env=job.env(), cwd=tmp_path / "cwd") as proc:
            ledger = job.out / "ledger.jsonl"
            with anyio.fail_after(30):
                while not ledger.exists() or len(ledger.read_bytes().splitlines()) < 2:  # noqa: ASYNC110 (another process writes it)
                    await anyio.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.stdout is not None
            assert proc.stderr is not None
            stdout = b"".join([chunk async for chunk in proc.stdout])
            stderr = b"".join([chunk async for chunk in proc.stderr])
            code = await proc.wait()
        outputs.add("run", subprocess.CompletedProcess(args, code, stdout, stderr))
        await job.report_and_validate(path, outputs)
    assert code == 3, stderr
    assert b"stopping" in stderr
    assert 0 < len(ledger.read_bytes().splitlines()) < 30
    outputs.add_files(tmp_path, [path])
    assert_nothing_leaked(outputs)


def test_invalid_messages_name_file_line_and_field_without_buyer_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` on the bad lines: each names file:line and the field, never the value."""
    path = jsonl(tmp_path / "in.jsonl", faulty_orders()[:1], BAD_JSONL)
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    for line, field_name in [(2, "buyer.city"), (3, "buyer.email"), (4, "billing.postal_code"),
                             (5, "buyer.address1"), (7, "order_id")]:
        assert f"{path} line {line}, {field_name}: " in out
    assert f"{path} line 6: " in out
    assert [p for p in PRIVATE if p in out] == []


def test_the_key_is_redacted_in_every_form_from_logs_and_error_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As given, as Basic auth, base64 and percent-encoded: a log record and an error line
    (a key pasted into --api-url, plain or encoded) show none of them."""
    monkeypatch.setenv("RYE_API_KEY", KEY)
    filter_ = RedactSecrets([KEY])
    for form in key_forms(KEY)[:1] + key_forms(KEY)[2:]:
        assert filter_.clean(f"a {form.decode()} b") == f"a {REDACTED} b"
    path = jsonl(tmp_path / "in.jsonl", faulty_orders()[:1])
    for url in (f"http://api.example/v1?key={quote(KEY, safe='')}",
                f"http://api.example/v1?key={quote_plus(KEY)}"):
        code = cli.main(["run", str(path), "--out", str(tmp_path / "out"),
                         "--shopper-ip", "203.0.113.1", "--api-url", url])
        err = capsys.readouterr().err
        assert code == 2
        assert "plain http to a remote host" in err
        assert [form for form in key_forms(KEY) if form.decode() in err] == []
