"""What a job needs before anything is sent: an input file, --out, the key, a usable URL and,
for a job that submits, the shopper IP. `run` and `quote` both check it first."""

from __future__ import annotations

from pathlib import Path

from batch_runner.config import Settings
from batch_runner.errors import ConfigError, InputError, UsageError
from batch_runner.transport import check_api_url


def check_job(settings: Settings, *, submits: bool) -> tuple[Path, Path]:
    """The input file and --out of a job that can start, or the error a person can act on."""
    if settings.input is None:
        raise UsageError("no input file: give INPUT or set 'input' in the job file")
    if settings.out is None:
        raise UsageError("no output directory: give --out DIR or set 'out' in the job file")
    if not settings.api_key:
        raise ConfigError("RYE_API_KEY is not set: export your Rye API key in the environment")
    check_api_url(settings.api_url)  # before --out or the journal exists
    if submits and not settings.shopper_ip:
        raise ConfigError("no shopper IP: give --shopper-ip or export RYE_SHOPPER_IP "
                          "(Rye requires it on submitCart)")
    if not settings.input.is_file():
        raise InputError(f"{settings.input}: no such file")
    return settings.input, settings.out
