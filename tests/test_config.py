"""Settings: defaults < job file < environment < flags, and a clear error for every bad setting."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_runner.config import ALIASES, CHOICES, KINDS, Settings, load_settings
from batch_runner.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 24)


def job(tmp_path: Path, text: str, name: str = "nightly.toml") -> Path:
    path = tmp_path / "jobs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(job_file: Path | None = None, *, env: dict[str, str] | None = None,
         **overrides: object) -> Settings:
    return load_settings(job_file=job_file, overrides=overrides, env=env or {}, today=TODAY)


def test_nothing_given_means_the_defaults() -> None:
    """With no job file, environment or flag, every setting has its documented default."""
    assert load() == Settings()
    assert Settings().strict_rps == 1.0
    assert Settings().api_url == "https://graphql.api.rye.com/v1/query"


def test_the_shipped_job_file_loads_with_paths_beside_it() -> None:
    """jobs/nightly.toml is valid; its relative paths resolve from jobs/ and {date} is filled in."""
    settings = load(ROOT / "jobs" / "nightly.toml")
    assert settings.input == ROOT / "jobs" / ".." / "orders" / "tonight.csv"
    assert settings.out == ROOT / "jobs" / ".." / "runs" / "2026-11-24"
    assert settings.shopper_ip is not None
    assert settings.api_key == ""


def test_job_file_keys_may_be_field_names_or_flag_spellings(tmp_path: Path) -> None:
    """strict_rps, strict-rps, stuck-after and never_started_after_s all name their setting."""
    settings = load(job(tmp_path, "strict-rps = 2\nstuck-after = 900\nnever_started_after_s = 120\n"
                                  "poll_interval = 2.5\nmax-replacements = 1\nquiet = true\n"))
    assert (settings.strict_rps, settings.stuck_after_s, settings.never_started_after_s) == (2.0, 900.0, 120.0)
    assert (settings.poll_interval_s, settings.max_replacements, settings.quiet) == (2.5, 1, True)
    assert isinstance(settings.strict_rps, float)


@pytest.mark.parametrize(
    ("in_file", "in_env", "flag", "expected"),
    [
        (None, None, None, None),
        ("10.0.0.1", None, None, "10.0.0.1"),
        (None, "10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.1", "10.0.0.2", None, "10.0.0.1"),
        ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.3"),
        (None, "10.0.0.2", "10.0.0.3", "10.0.0.3"),
    ],
)
def test_shopper_ip_precedence(tmp_path: Path, in_file: str | None, in_env: str | None,
                               flag: str | None, expected: str | None) -> None:
    """A flag beats the job file, which beats RYE_SHOPPER_IP, which is only a fallback."""
    path = job(tmp_path, f'shopper_ip = "{in_file}"\n' if in_file else "")
    env = {"RYE_SHOPPER_IP": in_env} if in_env else {}
    assert load(path, env=env, shopper_ip=flag).shopper_ip == expected


def test_flags_beat_the_job_file_and_none_means_not_given(tmp_path: Path) -> None:
    """A flag's value wins over the job file's; a flag left out (None) keeps the file's value."""
    path = job(tmp_path, "strict_rps = 2.0\ndefault_rps = 50\n")
    settings = load(path, strict_rps=3.0, default_rps=None, max_in_flight=10)
    assert (settings.strict_rps, settings.default_rps, settings.max_in_flight) == (3.0, 50.0, 10)


def test_the_api_key_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    """RYE_API_KEY fills api_key (trimmed), and repr(settings) does not show it."""
    settings = load(job(tmp_path, "strict_rps = 1\n"), env={"RYE_API_KEY": " sk_live_XYZ\n"})
    assert settings.api_key == "sk_live_XYZ"
    assert "sk_live_XYZ" not in repr(settings)


@pytest.mark.parametrize(
    ("out", "expected"),
    [("runs/{date}", "runs/2026-11-24"), ("runs/%Y/%m/%d", "runs/2026/11/24"),
     ("runs/{date}-night", "runs/2026-11-24-night"), ("runs/plain", "runs/plain")],
)
def test_out_takes_the_date_pattern(tmp_path: Path, out: str, expected: str) -> None:
    """{date} and strftime codes in `out` become today's date, in the job file and on the command line."""
    assert load(job(tmp_path, f'out = "{out}"\n')).out == tmp_path / "jobs" / expected
    assert load(out=Path(out)).out == Path(expected)


def test_relative_paths_follow_the_job_file_and_absolute_ones_stay(tmp_path: Path) -> None:
    """input/out relative to the job file's directory; flags' relative paths stay relative to cwd."""
    path = job(tmp_path, 'input = "../orders.csv"\nout = "/var/runs/x"\n')
    settings = load(path)
    assert settings.input == tmp_path / "jobs" / ".." / "orders.csv"
    assert settings.out == Path("/var/runs/x")
    assert load(path, input=Path("here.csv")).input == Path("here.csv")


def test_a_toml_time_is_a_deadline(tmp_path: Path) -> None:
    """`deadline = 06:00:00` (a TOML time) reads like "06:00"; an ISO date-time is kept."""
    assert load(job(tmp_path, "deadline = 06:00:00\n")).deadline == "06:00"
    assert load(job(tmp_path, 'deadline = "2026-11-25T06:30"\n')).deadline == "2026-11-25T06:30"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stict_rps = 2\n", "unknown setting 'stict_rps' in {job}; did you mean 'strict_rps'?"),
        ("strict_rps = 'fast'\n", "'strict_rps' in {job} must be a number > 0, got 'fast'"),
        ("strict-rps = -1\n", "'strict-rps' in {job} must be a number > 0, got -1"),
        ("default_rps = 0\n", "'default_rps' in {job} must be a number > 0, got 0"),
        ("stuck_after = nan\n", "'stuck_after' in {job} must be a number > 0, got nan"),
        ("poll_interval_s = inf\n", "'poll_interval_s' in {job} must be a number > 0, got inf"),
        ("max_replacements = -1\n", "'max_replacements' in {job} must be a whole number >= 0, got -1"),
        ("max_replacements = 1.5\n", "'max_replacements' in {job} must be a whole number >= 0, got 1.5"),
        ("max_in_flight = 0\n", "'max_in_flight' in {job} must be a whole number > 0, got 0"),
        ("strict_rps = true\n", "'strict_rps' in {job} must be a number > 0, got True"),
        ("quiet = 1\n", "'quiet' in {job} must be true or false, got 1"),
        ("progress = 'fancy'\n", "'progress' in {job} must be one of auto, bar, log, none, got 'fancy'"),
        ("log_format = 'xml'\n", "'log_format' in {job} must be one of text, json, got 'xml'"),
        ("shopper_ip = 'localhost'\n", "'shopper_ip' in {job} must be an IP address, got 'localhost'"),
        ("deadline = '6 am'\n", "'deadline' in {job} must be a time \"HH:MM\", an ISO date-time or \"+DURATION\" (+2h, +90m), got '6 am'"),
        ("api_url = 'graphql.api.rye.com'\n", "'api_url' in {job} must be an http(s) URL"),
        ("input = ''\n", "'input' in {job} must be a non-empty path, got ''"),
        ("out = ['a']\n", "'out' in {job} must be a non-empty path, got ['a']"),
        ("api_key = 'sk_live_1'\n", "'api_key' in {job}: secrets never go in job files"),
        ("api-key = 'sk_live_1'\n", "'api-key' in {job}: secrets never go in job files"),
        ("[run]\nstrict_rps = 2\n", "[run] in {job}: settings are top-level `key = value` lines"),
        ("strict_rps = 1\nstrict-rps = 2\n", "'strict-rps' in {job} sets 'strict_rps' a second time"),
        ("strict_rps = = 1\n", "job file {job} is not valid TOML: Invalid value (at line 1, column 14)"),
        ("a = 1\nb = [1,\n", "job file {job} is not valid TOML"),
    ],
)
def test_each_bad_setting_is_an_error_naming_key_and_file(tmp_path: Path, text: str, message: str) -> None:
    """A bad job file stops with a ConfigError that names the key and the file."""
    path = job(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message.format(job=path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_secret_in_the_job_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """The refusal points to RYE_API_KEY and does not repeat the key it found."""
    with pytest.raises(ConfigError, match="RYE_API_KEY") as caught:
        load(job(tmp_path, "api_key = 'sk_live_abcdef'\n"))
    assert "sk_live_abcdef" not in str(caught.value)


def test_a_missing_or_binary_job_file_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable job file, or one that is not UTF-8, is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"cannot read job file .*nope\.toml"):
        load(tmp_path / "nope.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'input = "caf\xe9.csv"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml is not UTF-8"):
        load(path)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"strict_rps": -1.0}, "'--strict-rps' on the command line must be a number > 0, got -1.0"),
        ({"never_started_after_s": 0.0}, "'--never-started-after' on the command line must be a number > 0"),
        ({"shopper_ip": "1.2.3"}, "'--shopper-ip' on the command line must be an IP address"),
        ({"log_format": "yaml"}, "'--log-format' on the command line must be one of text, json"),
        ({"stict_rps": 1.0}, "unknown setting 'stict_rps' on the command line; did you mean 'strict_rps'?"),
        ({"api_key": "sk"}, "'api_key' on the command line: secrets never go in job files or flags"),
    ],
)
def test_bad_flags_are_errors_naming_the_flag(flags: dict[str, object], message: str) -> None:
    """A bad value given as a flag is reported with the flag's own spelling."""
    with pytest.raises(ConfigError) as caught:
        load(**flags)
    assert message in str(caught.value)


def test_a_bad_rye_shopper_ip_names_the_variable() -> None:
    """RYE_SHOPPER_IP that is not an IP address is reported as coming from the environment."""
    with pytest.raises(ConfigError, match="'shopper_ip' from RYE_SHOPPER_IP must be an IP address"):
        load(env={"RYE_SHOPPER_IP": "my-laptop"})


# ------------------------------------------------------------------ property: never a crash

def _toml_value(value: object) -> str:
    match value:
        case bool():
            return "true" if value else "false"
        case int():
            return str(value)
        case float():
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
        case datetime() | date() | time():
            return value.isoformat()
        case list():
            return "[" + ", ".join(_toml_value(v) for v in value) + "]"
        case dict():
            return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        case _:
            return _toml_key(str(value))


def _toml_key(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, as long as astral characters stay raw."""
    return json.dumps(text, ensure_ascii=False)


SCALARS = (st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | st.booleans()
           | st.text(max_size=30) | st.sampled_from(["auto", "json", "127.0.0.1", "06:00", "runs/{date}",
                                                       "https://x.example/q", "%", "~nobody/x", "."])
           | st.datetimes() | st.dates() | st.times())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=2), max_leaves=6)
KEYS = st.sampled_from(sorted({*KINDS, *ALIASES, "strict-rps", "api_key", "run", "stuck-after"})) | st.text(max_size=12)


def _check(path: Path, keys: Iterable[str] = ()) -> None:
    """Settings that hold up, or a ConfigError naming the file and, unless the TOML itself is
    unreadable, one of the keys written."""
    try:
        settings = load(path, env={"RYE_API_KEY": "k"})
    except ConfigError as exc:
        message = str(exc)
        assert str(path) in message
        if not any(f"{path} is not {what}" in message for what in ("valid TOML", "UTF-8", "a job file")):
            assert any(f"'{k}'" in message or f"[{k}]" in message for k in keys), message
        return
    assert isinstance(settings, Settings)
    assert settings.strict_rps > 0
    assert math.isfinite(settings.strict_rps)
    assert settings.max_replacements >= 0
    assert settings.max_in_flight >= 1
    assert settings.progress in ("auto", "bar", "log", "none")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_any_table_gives_settings_or_a_config_error(table: dict[str, object]) -> None:
    """Whatever keys and values a job file holds, loading it gives Settings or a ConfigError."""
    text = "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in table.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check(path, table)


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_settings_or_a_config_error(raw: bytes) -> None:
    """Random bytes and text as a job file never crash the loader."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.toml"
        path.write_bytes(raw)
        _check(path)


PLAUSIBLE = {
    "path": st.sampled_from(["orders.csv", "runs/{date}", "/abs/x", "a b/c"]),
    "url": st.sampled_from(["https://graphql.api.rye.com/v1/query", "http://127.0.0.1:8765/q"]),
    "secret url": st.sampled_from(["https://hc-ping.com/5f0c1f0e-check", "http://127.0.0.1:9/hook"]),
    "ip": st.ip_addresses().map(str),
    "seconds": st.floats(min_value=0.001, max_value=1e6) | st.integers(min_value=1, max_value=10**6),
    "rate": st.floats(min_value=0.001, max_value=1e4),
    "count": st.integers(min_value=0, max_value=100),
    "positive count": st.integers(min_value=1, max_value=10_000),
    "deadline": st.sampled_from(["06:00", "23:59", "2026-11-25T06:30:00", "+2h", "+90s"]),
    "duration": st.floats(min_value=0.001, max_value=1e6) | st.integers(min_value=1, max_value=10**6),
    "bool": st.booleans(),
    "amount": st.sampled_from(["250", "1234.50", "0.99"]),
    "budget": st.sampled_from(["500.00 USD", "12000 JPY", "75.5 EUR"]),
}


def _plausible(name: str) -> st.SearchStrategy[object]:
    if name == "progress":
        return st.sampled_from(["auto", "bar", "log", "none"])
    if name == "log_format":
        return st.sampled_from(["text", "json"])
    if name in CHOICES:
        return st.sampled_from(CHOICES[name])
    return PLAUSIBLE[KINDS[name]]


@settings(max_examples=200)
@given(st.sets(st.sampled_from(sorted(KINDS)), max_size=8).flatmap(
    lambda names: st.fixed_dictionaries({n: _plausible(n) for n in names})))
def test_valid_tables_load_with_their_values(table: dict[str, object]) -> None:
    """Any table of valid values loads, and each setting holds the value written."""
    text = "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.toml"
        path.write_text(text, encoding="utf-8")
        loaded = load(path)
    for name, value in table.items():
        got = getattr(loaded, name)
        if KINDS[name] == "path":
            assert got == path.parent / str(value).replace("{date}", "2026-11-24")
        else:
            assert got == value


@settings(max_examples=100)
@given(depth=st.integers(1, 5000), opener=st.sampled_from(["[", "{a = "]))
def test_deeply_nested_values_are_a_config_error_not_a_recursion_error(depth: int, opener: str) -> None:
    """tomllib recurses into nested arrays and inline tables; a deep enough file is a ConfigError."""
    closer = "]" if opener == "[" else "}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.toml"
        path.write_text(f"strict_rps = {opener * depth}1{closer * depth}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load(path)
    assert str(path) in str(caught.value)
    assert "strict_rps" in str(caught.value) or "nested too deeply" in str(caught.value)


def test_a_nul_in_a_path_is_refused_naming_the_key(tmp_path: Path) -> None:
    """strftime would cut 'runs/\\0%Y' to 'runs'; the path is refused instead of silently shortened."""
    with pytest.raises(ConfigError, match=r"'out' in .*nightly\.toml must be a non-empty path"):
        load(job(tmp_path, 'out = "runs/\\u0000%Y"\n'))


def test_strict_buckets_is_a_choice_named_in_its_error(tmp_path: Path) -> None:
    """--strict-buckets / strict_buckets: auto, shared or per-operation, else a message naming it."""
    job = tmp_path / "job.toml"
    job.write_text('strict_buckets = "per-operation"\n')
    assert load_settings(job_file=job, overrides={}, env={}).strict_buckets == "per-operation"
    with pytest.raises(ConfigError, match=r"--strict-buckets.*auto, shared, per-operation"):
        load_settings(job_file=None, overrides={"strict_buckets": "both"}, env={})
