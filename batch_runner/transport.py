"""How a request to the API fails in transit, and which API URLs may be used at all.

`_map_transport_errors` is the one boundary where aiohttp and timeout errors become values
(`_Transport`, saying whether the API may have seen the request) or one of the exceptions that
stop the run because waiting cannot help: CertificateRefused (the API's TLS certificate failed
verification), TlsFailed (no TLS handshake, e.g. https to a plain-HTTP port) and ProxyRefused
(the proxy refused its login, 407, or the API's host, 403). A proxy's other refusals (502, 503)
are outages: nothing reached the API, and the gate waits them out.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator

import aiohttp
import yarl

from batch_runner.errors import CertificateRefused, ConfigError, ProxyRefused, TlsFailed


class _Transport(Exception):
    """Internal: a request failed in transit. `sent` says whether the API may have seen it."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def http_url(url: str, named: str) -> yarl.URL:
    """`url` as yarl (aiohttp's parser) reads it, if it is an http(s) URL with a host; else a
    ConfigError starting with `named` (which must not repeat a URL that holds a secret)."""
    try:
        parts = yarl.URL(url)
    except (ValueError, TypeError):
        raise ConfigError(f"{named} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ConfigError(f"{named} is not an http(s) URL")
    return parts


def check_api_url(url: str) -> None:
    """Any API URL other than loopback must be HTTPS (certificates are always verified).

    The URL is judged as yarl parses it, the parser aiohttp connects with, so no spelling can
    make this check and the connection disagree about the host (urllib reads the host of
    "http://evil.example\\@127.0.0.1/" as 127.0.0.1; yarl refuses it).
    """
    parts = http_url(url, f"API URL {url!r}")
    if parts.raw_user is not None or parts.raw_password is not None:
        raise ConfigError(
            "API URL must not carry a user name or password (the part before '@'): the key "
            "comes only from RYE_API_KEY, and 'http://127.0.0.1@host' names host, not loopback."
        )
    if parts.scheme == "https":
        return
    host = parts.host or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigError(
            f"API URL {url!r} uses plain http to a remote host; the API key and buyer data "
            "would cross the network unencrypted. Use https:// (plain http is allowed only "
            "for loopback, e.g. the built-in simulator)."
        )


@contextlib.contextmanager
def _map_transport_errors() -> Iterator[None]:
    """The one boundary where aiohttp and timeout errors become _Transport.

    Only a failure to connect proves the API never saw the request. Once a connection exists,
    the request may have been written and processed even if no answer (or no headers) came
    back, so a read timeout or a lost connection is an unknown outcome, never "not sent".
    """
    try:
        yield
    except aiohttp.ClientConnectorCertificateError as exc:  # before ClientConnectorError
        raise CertificateRefused(
            f"cannot verify the TLS certificate of {exc.host}:{exc.port} "
            f"({exc.certificate_error}); nothing was sent. Certificates are always verified: if "
            "your network inspects TLS with its own CA, point SSL_CERT_FILE at a PEM bundle that "
            "includes it, then rerun with the same --out to resume."
        ) from None
    except aiohttp.ClientConnectorSSLError as exc:  # before ClientConnectorError
        if "WRONG_VERSION_NUMBER" not in str(exc.os_error):
            # A handshake cut short (a balancer restarting): an outage the gate waits out.
            raise _Transport(f"TLS handshake failed: {exc.os_error}", sent=False) from None
        raise TlsFailed(
            f"no TLS connection to {exc.host}:{exc.port} ({exc.os_error}); nothing was sent. "
            "This is not an outage: the server there does not complete a TLS handshake. If the "
            "message says WRONG_VERSION_NUMBER, --api-url says https:// for a port that speaks "
            "plain HTTP (or a proxy intercepts TLS). Fix --api-url, then rerun with the same "
            "--out to resume."
        ) from None
    except aiohttp.ClientHttpProxyError as exc:  # the proxy answered CONNECT with no tunnel
        if exc.status in (407, 403):
            raise ProxyRefused(_proxy_refusal(exc.status, exc.message)) from None
        raise _Transport(f"the proxy answered HTTP {exc.status} ({exc.message}) instead of "
                         "opening a tunnel", sent=False) from None
    except aiohttp.ConnectionTimeoutError as exc:
        raise _Transport(f"connect timeout ({type(exc).__name__})", sent=False) from None
    except aiohttp.ClientConnectorError as exc:
        raise _Transport(f"cannot connect: {exc.os_error}", sent=False) from None
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise _Transport("read timeout", sent=True) from None
    except aiohttp.ClientError as exc:
        raise _Transport(f"connection lost ({type(exc).__name__})", sent=True) from None


def _proxy_refusal(status: int, message: str) -> str:
    """Neither the proxy's URL nor its login: the message is printed, and the login is secret."""
    if status == 407:
        return (f"the proxy refused its login (HTTP 407 {message}); nothing was sent. Check the "
                "user and password in HTTPS_PROXY (or https_proxy / ALL_PROXY; special "
                "characters percent-encoded), then rerun with the same --out to resume.")
    return (f"the proxy refused to open a tunnel to the API (HTTP 403 {message}); nothing was "
            "sent. Ask for the API's host to be allowed through the proxy, or list it in "
            "NO_PROXY if it can be reached directly, then rerun with the same --out to resume.")
