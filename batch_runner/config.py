"""Settings: defaults < job file (TOML) < environment < command-line flags.

A job file holds top-level `key = value` pairs (no tables), named like the Settings fields
(`strict_rps`, `stuck_after_s`) or like the command-line flags (`strict-rps`, `stuck-after`).
Relative paths in a job file are relative to the job file's directory; `input` and `out` may
hold "{date}" or strftime codes (%Y-%m-%d), filled in with today's date. Secrets come only from the
environment (RYE_API_KEY): a job file that names one is refused. Every error names the key and
where it came from. This module reads the job file and the given environment, nothing else.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from batch_runner.core.deadline import BadDuration, parse_deadline, parse_duration
from batch_runner.core.money import is_currency, parse_decimal
from batch_runner.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    input: Path | None = None
    out: Path | None = None
    api_url: str = "https://graphql.api.rye.com/v1/query"
    api_key: str = field(default="", repr=False)  #: only from RYE_API_KEY
    shopper_ip: str | None = None  #: --shopper-ip, job file, else RYE_SHOPPER_IP
    never_started_after_s: float = 300.0
    stuck_after_s: float = 600.0
    max_replacements: int = 2
    strict_rps: float = 1.0
    default_rps: float = 100.0
    strict_buckets: str = "auto"  #: auto | shared | per-operation (createCart and submitCart)
    poll_interval_s: float = 5.0
    max_in_flight: int = 200
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    submit_retries: int = 5
    never_started_resubmits: int = 3
    deadline: str | None = None  #: "HH:MM" local time, an ISO date-time, or "+2h"
    deadline_grace_s: float = 600.0  #: after the deadline, submitted carts are polled this long
    outage_budget_s: float = 1800.0  #: the API unreachable this long: the run stops (exit 3)
    stop_after_failures: int = 50  #: one failure code ending this many orders in a row; 0: off
    progress: str = "auto"  #: auto | bar | log | none
    log_format: str = "text"  #: text | json
    quiet: bool = False
    log_interval_s: float = 30.0
    notify_url: str | None = field(default=None, repr=False)  #: webhook for the summary (a secret)
    ping_url: str | None = field(default=None, repr=False)  #: healthchecks.io check (a secret)
    max_order_total: str | None = None  #: "250.00": a cart above it is not submitted
    budget: str | None = None  #: "500.00 USD": the night's spend limit


#: Each setting's kind: how a value is checked and described in an error.
KINDS: dict[str, str] = {
    "input": "path", "out": "path", "api_url": "url", "shopper_ip": "ip",
    "never_started_after_s": "seconds", "stuck_after_s": "seconds",
    "poll_interval_s": "seconds", "connect_timeout_s": "seconds", "read_timeout_s": "seconds",
    "log_interval_s": "seconds", "strict_rps": "rate", "default_rps": "rate",
    "max_replacements": "count", "submit_retries": "count", "never_started_resubmits": "count",
    "max_in_flight": "positive count", "deadline": "deadline", "progress": "choice",
    "deadline_grace_s": "duration", "outage_budget_s": "duration", "stop_after_failures": "count",
    "log_format": "choice", "quiet": "bool", "notify_url": "secret url", "ping_url": "secret url",
    "max_order_total": "amount", "budget": "budget",
    "strict_buckets": "choice",
}
CHOICES: dict[str, tuple[str, ...]] = {
    "progress": ("auto", "bar", "log", "none"), "log_format": ("text", "json"),
    "strict_buckets": ("auto", "shared", "per-operation"),
}
_DESCRIBE = {
    "path": "a non-empty path", "url": "an http(s) URL", "ip": "an IP address",
    "seconds": "a number > 0", "rate": "a number > 0", "count": "a whole number >= 0",
    "positive count": "a whole number > 0", "bool": "true or false",
    "deadline": 'a time "HH:MM", an ISO date-time or "+DURATION" (+2h, +90m)',
    "duration": 'seconds (a number > 0) or a number with s, m or h ("90s", "10m", "1h")',
    "secret url": "an https:// URL (plain http only to loopback)",
    "amount": 'an amount >= 0, e.g. "250.00"',
    "budget": 'an amount and an ISO currency code, e.g. "500.00 USD"',
}
#: Keys that hold a secret, refused in job files and on the command line.
SECRET_KEYS = frozenset({"api_key", "rye_api_key", "key", "token", "password", "secret"})
#: Settings whose command-line flag drops the unit suffix (--stuck-after for stuck_after_s).
ALIASES = {name.removesuffix("_s"): name for name in KINDS if name.endswith("_s")}
ENV_API_KEY = "RYE_API_KEY"
ENV_SHOPPER_IP = "RYE_SHOPPER_IP"
#: Fallbacks, like RYE_SHOPPER_IP, for settings that hold a token: an env file (chmod 600) is a
#: better home for them than a job file kept in version control.
ENV_FALLBACKS = {"shopper_ip": ENV_SHOPPER_IP, "notify_url": "BATCH_RUNNER_NOTIFY_URL",
                 "ping_url": "BATCH_RUNNER_PING_URL"}
assert set(KINDS) | {"api_key"} == {f.name for f in fields(Settings)}, "KINDS must cover Settings"


def _key(raw: str) -> str:
    key = raw.replace("-", "_")
    return ALIASES.get(key, key)


def _is_deadline(text: str) -> bool:
    try:
        parse_deadline(text, now=datetime(2000, 1, 1, tzinfo=UTC))  # only the form is checked
    except (BadDuration, OverflowError):
        return False
    return True


def _is_duration(value: object) -> bool:
    if not isinstance(value, str | int | float):
        return False
    try:
        parse_duration(value)
    except (BadDuration, OverflowError):
        return False
    return True


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_number(kind: str, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind in ("seconds", "rate"):
        try:
            return math.isfinite(value) and value > 0
        except OverflowError:  # an int beyond float range
            return False
    return isinstance(value, int) and value >= (1 if kind == "positive count" else 0)


def _valid_money(kind: str, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    parts = str(value).split()
    if kind == "budget":
        if len(parts) != 2 or not is_currency(parts[1].upper()):
            return False
        parts = parts[:1]
    try:
        parse_decimal(parts[0] if parts else "")
    except ValueError:
        return False
    return len(parts) == 1


def _valid(name: str, value: object) -> bool:
    kind = KINDS[name]
    if kind in ("amount", "budget"):
        return _valid_money(kind, value)
    if kind in ("seconds", "rate", "count", "positive count"):
        return _valid_number(kind, value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "duration":
        return _is_duration(value)
    if kind == "path":  # a NUL would cut the path short in strftime and fail every file call
        return isinstance(value, str | Path) and str(value).strip() not in ("", ".") and "\0" not in str(value)
    if not isinstance(value, str):
        return False
    match kind:
        case "url" | "secret url":
            return value.lower().startswith(("https://", "http://")) and len(value) > len("https://")
        case "ip":
            return _is_ip(value)
        case "deadline":
            return _is_deadline(value)
        case _:
            return value in CHOICES.get(name, ())


def describe(name: str) -> str:
    """What a setting must be, for an error message."""
    if name in CHOICES:
        return "one of " + ", ".join(CHOICES[name])
    return _DESCRIBE[KINDS[name]]


def expand_date(text: str, today: date) -> str:
    """'runs/{date}' -> 'runs/2026-11-24'; strftime codes (%Y, %m, %d, ...) are filled in too."""
    text = text.replace("{date}", today.isoformat())
    if "%" not in text:
        return text
    try:
        return today.strftime(text)
    except (ValueError, UnicodeError) as exc:  # a lone "%", a NUL, an unencodable character
        raise ConfigError(f"cannot fill the date into {text!r}: {exc}") from None


def _coerce(name: str, value: object, origin: str, today: date, *, shown: str = "") -> object:
    if KINDS[name] == "budget" and isinstance(value, list | tuple):  # --budget 500 USD, or a TOML array
        value = " ".join(str(v) for v in value)
    if name == "deadline" and isinstance(value, time | datetime):  # TOML `deadline = 06:00:00`
        value = value.strftime("%H:%M") if isinstance(value, time) else value.isoformat()
    if not _valid(name, value):
        got = "" if KINDS[name] == "secret url" else f", got {value!r}"  # never echo a token
        raise ConfigError(f"'{shown or name}' {origin} must be {describe(name)}{got}")
    kind = KINDS[name]
    if kind == "path":
        text = str(value)
        # os.path.expanduser leaves "~nosuchuser" alone where Path.expanduser would raise.
        try:
            text = expand_date(text, today)
        except ConfigError as exc:
            raise ConfigError(f"'{shown or name}' {origin}: {exc}") from None
        return Path(os.path.expanduser(text))
    if kind in ("seconds", "rate"):
        return float(value)  # type: ignore[arg-type]  # _valid checked it is a number
    if kind in ("amount", "budget"):
        return " ".join(str(value).upper().split())  # the text, never a float: core/money.py
    if kind == "duration":
        return parse_duration(value)  # type: ignore[arg-type]  # _valid checked it
    return value


def _refuse_secret(raw_key: str, origin: str) -> None:
    raise ConfigError(
        f"'{raw_key}' {origin}: secrets never go in job files or flags. Export RYE_API_KEY in the "
        "environment instead (cron: an env file sourced before the command; systemd: "
        "EnvironmentFile=)."
    )


def _unknown(raw_key: str, origin: str) -> ConfigError:
    hint = difflib.get_close_matches(_key(raw_key), [*KINDS, *ALIASES], n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return ConfigError(f"unknown setting '{raw_key}' {origin}{suggestion}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read job file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"job file {path} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise ConfigError(f"job file {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ConfigError(f"job file {path} is not a job file: its values are nested too deeply") from None


def _from_job_file(path: Path, today: date) -> dict[str, object]:
    origin = f"in {path}"
    values: dict[str, object] = {}
    for raw_key, value in _read_toml(path).items():
        key = _key(raw_key)
        if key in SECRET_KEYS:
            _refuse_secret(raw_key, origin)
        if isinstance(value, dict):
            raise ConfigError(f"[{raw_key}] {origin}: settings are top-level `key = value` "
                              "lines; remove the table heading")
        if key not in KINDS:
            raise _unknown(raw_key, origin)
        if key in values:
            raise ConfigError(f"'{raw_key}' {origin} sets '{key}' a second time")
        coerced = _coerce(key, value, origin, today, shown=raw_key)
        if isinstance(coerced, Path) and not coerced.is_absolute():
            coerced = path.parent / coerced
        values[key] = coerced
    return values


def _from_env(env: Mapping[str, str], today: date) -> dict[str, object]:
    values: dict[str, object] = {}
    if key := env.get(ENV_API_KEY, "").strip():
        values["api_key"] = key
    for name, variable in ENV_FALLBACKS.items():
        if value := env.get(variable, "").strip():
            values[name] = _coerce(name, value, f"from {variable}", today)
    return values


def _from_flags(overrides: Mapping[str, object], today: date) -> dict[str, object]:
    values: dict[str, object] = {}
    for raw_key, value in overrides.items():
        key = _key(raw_key)
        if key in SECRET_KEYS:
            _refuse_secret(raw_key, "on the command line")
        if key not in KINDS:
            raise _unknown(raw_key, "on the command line")
        if value is not None:
            flag = "--" + raw_key.removesuffix("_s").replace("_", "-")
            values[key] = _coerce(key, value, "on the command line", today, shown=flag)
    return values


def load_settings(
    *, job_file: Path | None, overrides: Mapping[str, object], env: Mapping[str, str],
    today: date | None = None,
) -> Settings:
    """Settings from defaults < job file < environment < flags (None in `overrides`: not given).

    The environment gives only RYE_API_KEY and, when neither the job file nor a flag sets them,
    the fallbacks of ENV_FALLBACKS (RYE_SHOPPER_IP, BATCH_RUNNER_NOTIFY_URL, BATCH_RUNNER_PING_URL).

    Raises:
        ConfigError: unreadable or invalid job file, unknown or mistyped setting, or a secret
            outside the environment; the message names the key and the file.
    """
    today = today or date.today()
    from_file = _from_job_file(job_file, today) if job_file is not None else {}
    from_env = _from_env(env, today)
    from_flags = _from_flags(overrides, today)
    for name in ENV_FALLBACKS:  # RYE_SHOPPER_IP and the URL variables are only fallbacks
        if name in from_file or name in from_flags:
            from_env.pop(name, None)
    values: dict[str, Any] = {**from_file, **from_env, **from_flags}
    return replace(Settings(), **values)
