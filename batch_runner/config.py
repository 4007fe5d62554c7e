"""Settings: defaults < job file (TOML) < environment < command-line flags.

Secrets come only from the environment: a job file that names the API key is refused.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from batch_runner.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    input: Path | None = None
    out: Path | None = None
    api_url: str = "https://graphql.api.rye.com/v1/query"
    api_key: str = field(default="", repr=False)
    shopper_ip: str | None = None
    never_started_after_s: float = 300.0
    stuck_after_s: float = 600.0
    max_replacements: int = 2
    strict_rps: float = 1.0
    default_rps: float = 100.0
    poll_interval_s: float = 5.0
    max_in_flight: int = 200
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    submit_retries: int = 5
    never_started_resubmits: int = 3
    deadline: str | None = None
    progress: str = "auto"
    log_format: str = "text"
    quiet: bool = False
    log_interval_s: float = 30.0


#: Job-file spellings that name a field differently (the CLI's flag names).
ALIASES = {
    "never_started_after": "never_started_after_s", "stuck_after": "stuck_after_s",
    "poll_interval": "poll_interval_s", "connect_timeout": "connect_timeout_s",
    "read_timeout": "read_timeout_s", "log_interval": "log_interval_s",
}
SECRET_KEYS = frozenset({"api_key", "rye_api_key", "key", "token"})
CHOICES = {"progress": ("auto", "bar", "log", "none"), "log_format": ("text", "json")}
_FIELDS = {f.name: f for f in fields(Settings)}
_PATHS = frozenset({"input", "out"})
_POSITIVE = frozenset({"strict_rps", "default_rps", "poll_interval_s", "max_in_flight",
                       "connect_timeout_s", "read_timeout_s", "log_interval_s"})


def _key(raw: str) -> str:
    key = raw.strip().lower().replace("-", "_")
    return ALIASES.get(key, key)


def _expand_out(value: str) -> str:
    today = date.today()
    return today.strftime(value.replace("{date}", today.isoformat()))


def _valid(name: str, value: Any) -> bool:
    kind = str(_FIELDS[name].type)
    if name in _PATHS:
        return isinstance(value, str | Path) and bool(str(value))
    if "bool" in kind:
        return isinstance(value, bool)
    if "float" in kind or "int" in kind:
        number = (int, float) if "float" in kind else (int,)
        if isinstance(value, bool) or not isinstance(value, number):
            return False
        return value > 0 if name in _POSITIVE else value >= 0
    return isinstance(value, str) and (name not in CHOICES or value in CHOICES[name])


def _coerce(name: str, value: Any, origin: str) -> Any:
    if not _valid(name, value):
        raise ConfigError(f"'{name}' in {origin} must be {_describe(name)}, got {value!r}")
    if name in _PATHS:
        return Path(_expand_out(str(value)) if name == "out" else str(value))
    if "float" in str(_FIELDS[name].type):
        return float(value)
    return value


def _describe(name: str) -> str:
    kind = str(_FIELDS[name].type)
    if name in CHOICES:
        return "one of " + ", ".join(CHOICES[name])
    if "float" in kind:
        return "a number > 0" if name in _POSITIVE else "a number >= 0"
    if "int" in kind:
        return "a whole number > 0" if name in _POSITIVE else "a whole number >= 0"
    if "bool" in kind:
        return "true or false"
    return "a path" if name in _PATHS else "a string"


def _from_job_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read job file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"job file {path} is not valid TOML: {exc}") from None
    table = raw.get("run", raw) if isinstance(raw.get("run"), dict) else raw
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = _key(raw_key)
        if key in SECRET_KEYS:
            raise ConfigError(
                f"{path} sets '{raw_key}': secrets never go in job files. Export RYE_API_KEY "
                "in the environment (e.g. systemd EnvironmentFile=) instead."
            )
        if key not in _FIELDS:
            hint = difflib.get_close_matches(key, list(_FIELDS), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ConfigError(f"unknown setting '{raw_key}' in {path}{suggestion}")
        value = _coerce(key, value, str(path))
        if key in _PATHS and not value.is_absolute():
            value = path.parent / value
        values[key] = value
    return values


def load_settings(
    *, job_file: Path | None, overrides: Mapping[str, object], env: Mapping[str, str]
) -> Settings:
    values: dict[str, Any] = _from_job_file(job_file) if job_file else {}
    if env.get("RYE_API_KEY"):
        values["api_key"] = env["RYE_API_KEY"]
    for key, value in overrides.items():
        if value is not None:
            values[_key(key)] = _coerce(_key(key), value, "the command line")
    if not values.get("shopper_ip") and env.get("RYE_SHOPPER_IP"):
        values["shopper_ip"] = env["RYE_SHOPPER_IP"]
    return replace(Settings(), **values)
