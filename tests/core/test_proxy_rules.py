"""core/proxy.py: which proxy a URL goes through, as curl reads HTTPS_PROXY / NO_PROXY."""

from __future__ import annotations

import pytest

from batch_runner.core.proxy import ProxySettingError, bypassed, proxy_for, proxy_urls

P = "http://proxy.corp:3128"
API = "https://graphql.api.rye.com/v1/query"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"HTTPS_PROXY": P}, P),
    ({"https_proxy": P}, P),
    ({"https_proxy": P, "HTTPS_PROXY": "http://other:1"}, P),  # lowercase wins, as in curl
    ({"HTTPS_PROXY": "  "}, None),  # blank is unset
    ({"HTTP_PROXY": P}, None),  # http_proxy is for http:// URLs only
    ({"ALL_PROXY": P}, P),  # the fallback for every scheme
    ({"HTTPS_PROXY": P, "ALL_PROXY": "http://other:1"}, P),
    ({"HTTPS_PROXY": "proxy.corp:3128"}, P),  # no scheme: an http proxy
    ({"HTTPS_PROXY": "http://u:p%40ss@proxy.corp:3128"}, "http://u:p%40ss@proxy.corp:3128"),
])
def test_the_proxy_for_an_https_url(env: dict[str, str], expected: str | None) -> None:
    assert proxy_for(API, env) == expected


@pytest.mark.parametrize("no_proxy", [
    "*", "rye.com", ".rye.com", "api.rye.com,graphql.api.rye.com", "example.com, rye.com",
    "example.com rye.com", "RYE.COM", "graphql.api.rye.com:443",
])
def test_no_proxy_names_a_host_or_a_parent_domain(no_proxy: str) -> None:
    assert proxy_for(API, {"HTTPS_PROXY": P, "NO_PROXY": no_proxy}) is None
    assert proxy_for(API, {"HTTPS_PROXY": P, "no_proxy": no_proxy}) is None


@pytest.mark.parametrize("no_proxy", ["ye.com", "api.rye.co", "graphql.api.rye.com.evil", "", ","])
def test_no_proxy_does_not_match_other_hosts(no_proxy: str) -> None:
    assert proxy_for(API, {"HTTPS_PROXY": P, "NO_PROXY": no_proxy}) == P


@pytest.mark.parametrize(("host", "no_proxy", "direct"), [
    ("10.1.2.3", "10.0.0.0/8", True),
    ("10.1.2.3", "10.1.2.3", True),
    ("11.1.2.3", "10.0.0.0/8", False),
    ("2001:db8::5", "2001:db8::/32", True),
    ("2001:db8::5", "[2001:db8::5]", True),
    ("192.168.0.1", "example.com", False),
])
def test_no_proxy_addresses_and_cidr_ranges(host: str, no_proxy: str, direct: bool) -> None:
    assert bypassed(host, {"NO_PROXY": no_proxy}) is direct


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8765/v1/query", "https://127.0.0.2/q", "http://[::1]:80/q",
    "http://localhost:8765/q", "https://LOCALHOST/q", "http://sim.localhost/q",
])
def test_loopback_is_never_proxied(url: str) -> None:
    env = {"HTTPS_PROXY": P, "HTTP_PROXY": P, "ALL_PROXY": P}
    assert proxy_for(url, env) is None


def test_http_urls_use_http_proxy() -> None:
    assert proxy_for("http://10.0.0.1/q", {"HTTP_PROXY": P, "HTTPS_PROXY": "http://x:1"}) == P


@pytest.mark.parametrize(("value", "says"), [
    ("https://proxy.corp:3128", "HTTPS_PROXY names a https:// proxy"),
    ("socks5://u:secret@proxy:1080", "HTTPS_PROXY names a socks5:// proxy"),
    ("http://", "HTTPS_PROXY is not a proxy URL"),
    ("http://proxy:port", "HTTPS_PROXY is not a proxy URL"),
])
def test_unusable_proxies_are_named_without_their_value(value: str, says: str) -> None:
    with pytest.raises(ProxySettingError) as caught:
        proxy_for(API, {"HTTPS_PROXY": value})
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


def test_an_unusable_proxy_is_no_error_for_a_host_reached_directly() -> None:
    assert proxy_for(API, {"HTTPS_PROXY": "socks5://proxy:1080", "NO_PROXY": "rye.com"}) is None


def test_proxy_urls_lists_every_variable_once() -> None:
    env = {"HTTPS_PROXY": P, "https_proxy": P, "HTTP_PROXY": "http://a:b@c:1", "NO_PROXY": "x"}
    assert sorted(proxy_urls(env)) == sorted([P, P, "http://a:b@c:1"])
