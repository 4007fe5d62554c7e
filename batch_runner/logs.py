"""Logging to stderr, as text lines or one JSON object per line, with every secret redacted.

This is the one place that redacts (STYLE 3): the handler's filter replaces each secret (and
the Basic-auth and base64 forms it takes in an Authorization header) with "[REDACTED]" in the
message, its arguments, every `extra=` value and any traceback, before a formatter sees the
record. Callers log ids, never buyer addresses, emails or phones. Secrets are the API key and
the secret parts of URLs (url_secrets): a proxy's user and password, a webhook's path and query.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import orjson

LOGGER_NAME = "batch_runner"
REDACTED = "[REDACTED]"
#: Attributes every LogRecord has; anything else on a record came from `extra=`.
STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_FIXED = ("ts", "level", "logger", "msg")


def secret_forms(secret: str) -> list[str]:
    """The secret as given, base64-encoded as in HTTP Basic auth, and percent-encoded as in a URL."""
    raw = secret.encode()
    return [secret, base64.b64encode(raw + b":").decode(), base64.b64encode(raw).decode(),
            quote(secret, safe=""), quote_plus(secret, safe="")]


#: A URL path or query shorter than this is no token ("/", "/hook"): redacting it would hide
#: every slash; such a URL's secret, if any, is in its credentials.
MIN_URL_SECRET = 6


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that are secrets: `user:password` and the password of its credentials,
    its path and query (a Slack webhook's or a healthchecks.io check's token), raw and decoded.
    The host stays readable, so a log line can still say where a request went."""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        user, password = parts.username, parts.password
    except ValueError:  # not parseable as a URL: the whole value is the secret
        return [url]
    found: list[str] = []
    if password:
        found += [f"{user or ''}:{password}", password]
    elif user and len(user) >= MIN_URL_SECRET:  # a token as the user name: http://TOKEN@proxy
        found.append(user)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(tail.strip("/")) >= MIN_URL_SECRET:
        found += [tail, tail.lstrip("/")]
        found += [value for _, _, value in (p.partition("=") for p in parts.query.split("&"))
                  if len(value) >= MIN_URL_SECRET]
    found += [unquote(f) for f in found]
    return list(dict.fromkeys(f for f in found if f))


class RedactSecrets(logging.Filter):
    """Replaces every form of every secret in a record with REDACTED; never drops a record."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in secret_forms(s)}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers

    def __repr__(self) -> str:
        return f"<RedactSecrets {len(self._forms)} forms>"

    def clean(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def _clean_value(self, value: object) -> object:
        match value:
            case None | bool() | int() | float():
                return value
            case str():
                return self.clean(value)
            case dict():
                return {self.clean(str(k)): self._clean_value(v) for k, v in value.items()}
            case list() | tuple() | set() | frozenset():
                return [self._clean_value(v) for v in value]
            case _:  # an object's str() could carry the secret (a URL, a header mapping)
                return self.clean(str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep both
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.clean(message), None
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD_ATTRS:
                setattr(record, key, self._clean_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record."""
    return {k: v for k, v in record.__dict__.items() if k not in STANDARD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the extras (and exc, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(),
                                "logger": record.name, "msg": record.getMessage()}
        for key, value in extras(record).items():
            data[f"extra_{key}" if key in _FIXED else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class TextFormatter(logging.Formatter):
    """`2026-11-24T22:00:03.120Z INFO message key=value ...`, for people and cron mail."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        tails = [t for t in (record.exc_text, record.stack_info) if t]
        return "\n".join([line, *tails])


class _Stderr:
    """Whatever sys.stderr is at each write: rich's live progress bar swaps it for a proxy that
    prints log lines above the bar, and pytest's capture swaps it too."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def setup_logging(*, fmt: str, quiet: bool, secrets: Sequence[str]) -> logging.Logger:
    """The "batch_runner" logger, writing to stderr; calling it again replaces the setup.

    Args:
        fmt: "text" or "json".
        quiet: only warnings and errors.
        secrets: values to redact wherever they appear (the API key); empty ones are ignored.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler: logging.StreamHandler[_Stderr] = logging.StreamHandler(_Stderr())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets(secrets))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False  # a root handler set up by a library must not see unredacted records
    return logger
