"""Which proxy a request goes through, from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY.

Pure: the environment comes in as a mapping, the decision goes out as a URL or None. The rules
are curl's (and pip's, which uses the same variables):
- an https:// URL goes through `https_proxy` (else `HTTPS_PROXY`, else `all_proxy`/`ALL_PROXY`),
  an http:// URL through `http_proxy` (else `HTTP_PROXY`, else ALL_PROXY); lowercase wins;
- `NO_PROXY` (lowercase wins) is a comma- or space-separated list: `*` (no proxy at all), a
  host name that also covers its subdomains (`example.com`, `.example.com`), an IP address, or
  an IP range in CIDR form (`10.0.0.0/8`); a `:port` on an entry is ignored;
- a proxy given without a scheme (`proxy.corp:3128`) is an http:// proxy.
One rule of our own: loopback (127.0.0.0/8, ::1, localhost) never goes through a proxy. The
built-in simulator and test listeners live there, and a proxy elsewhere could not reach them.
aiohttp's `trust_env` would proxy loopback and would also read ~/.netrc (whose `default` entry
would add a second Authorization header to every request), hence this module.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

#: Proxy schemes aiohttp can tunnel through (CONNECT for https targets).
SUPPORTED_SCHEMES = ("http",)
PROXY_VARIABLES: dict[str, tuple[str, ...]] = {
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
}
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")


class ProxySettingError(ValueError):
    """A proxy variable names something we cannot use; the message names the variable."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, value) of the first variable set to a non-blank value."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _entry_matches(entry: str, host: str) -> bool:
    entry = entry.strip().lower()
    if entry.startswith("["):  # [::1]:8080 or [::1]
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:  # host:port
        entry = entry.split(":", 1)[0]
    entry = entry.lstrip(".")
    if not entry:
        return False
    if entry == "*":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == entry or host.endswith("." + entry)
    try:
        return address in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def bypassed(host: str, env: Mapping[str, str]) -> bool:
    """True when `host` is loopback or NO_PROXY names it."""
    host = host.strip("[]").lower()
    if is_loopback(host):
        return True
    found = _first(env, NO_PROXY_VARIABLES)
    if found is None:
        return False
    return any(_entry_matches(e, host) for e in found[1].replace(",", " ").split())


def proxy_for(url: str, env: Mapping[str, str]) -> str | None:
    """The proxy URL (credentials included) for requests to `url`, or None to connect directly.

    Raises:
        ProxySettingError: the variable that applies names an https:// or socks proxy (aiohttp
            tunnels only through http:// proxies) or is not a URL; the message names it.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    names = PROXY_VARIABLES.get(parts.scheme.lower())
    if names is None or bypassed(host, env):
        return None
    found = _first(env, names)
    if found is None:
        return None
    name, value = found
    proxy = value if "://" in value else "http://" + value
    scheme = proxy.split("://", 1)[0].lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise ProxySettingError(
            f"{name} names a {scheme}:// proxy; only http:// proxies are supported "
            "(https traffic still goes end to end encrypted through them, with CONNECT)"
        )
    try:
        proxy_parts = urlsplit(proxy)
        proxy_host = proxy_parts.hostname
        proxy_parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        proxy_host = None
    if not proxy_host:
        raise ProxySettingError(f"{name} is not a proxy URL such as http://proxy.example:3128")
    return proxy


def proxy_urls(env: Mapping[str, str]) -> list[str]:
    """Every proxy URL the environment names (to redact the credentials they may hold)."""
    names = dict.fromkeys(n for group in PROXY_VARIABLES.values() for n in group)
    return [v.strip() for n in names if (v := env.get(n, "")).strip()]
