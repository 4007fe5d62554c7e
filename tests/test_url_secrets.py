"""URL secrets (logs.url_secrets): webhook tokens and proxy logins are redacted like the key."""

from __future__ import annotations

import base64
import logging

import pytest

from batch_runner.logs import REDACTED, RedactSecrets, setup_logging, url_secrets

HOOK = "https://hooks.slack.com/services/T0AAA/B0BBB/xoxSecretToken123"
PING = "https://hc-ping.com/7c1b9e2a-33f1-4d7e-9a55-2b0c7f1e8d40"
PROXY = "http://nightly:pa%24%24word-99@proxy.corp:3128"


@pytest.mark.parametrize("text", [
    f"posting to {HOOK}",
    "posting to /services/T0AAA/B0BBB/xoxSecretToken123",
    f"ping {PING}/fail failed",
    "services%2FT0AAA%2FB0BBB%2FxoxSecretToken123",
])
def test_webhook_and_ping_tokens_are_redacted_but_the_host_stays(text: str) -> None:
    clean = RedactSecrets([s for url in (HOOK, PING) for s in url_secrets(url)]).clean(text)
    assert "xoxSecretToken123" not in clean
    assert "7c1b9e2a-33f1-4d7e-9a55-2b0c7f1e8d40" not in clean
    assert REDACTED in clean


def test_a_proxy_login_is_redacted_raw_decoded_and_as_basic_auth() -> None:
    redact = RedactSecrets(url_secrets(PROXY))
    basic = base64.b64encode(b"nightly:pa$$word-99").decode()
    for text in (PROXY, "password pa$$word-99", f"Proxy-Authorization: Basic {basic}"):
        clean = redact.clean(text)
        assert "pa$$word-99" not in clean
        assert "pa%24%24word-99" not in clean
        assert basic not in clean
    assert redact.clean(PROXY) == f"http://{REDACTED}@proxy.corp:3128"


@pytest.mark.parametrize("url", ["http://proxy.corp:3128", "http://proxy.corp:3128/",
                                 "http://127.0.0.1:8080/hook"])
def test_urls_without_a_secret_part_redact_nothing_common(url: str) -> None:
    assert url_secrets(url) == []


def test_a_log_line_carries_neither_token_nor_login(capsys: pytest.CaptureFixture[str]) -> None:
    logger = setup_logging(fmt="json", quiet=False,
                           secrets=[s for u in (HOOK, PROXY) for s in url_secrets(u)])
    logger.warning("could not reach %s via %s", HOOK, PROXY, extra={"url": HOOK})
    err = capsys.readouterr().err
    assert "xoxSecretToken123" not in err
    assert "pa%24%24word-99" not in err
    assert "hooks.slack.com" in err
    logging.getLogger("batch_runner").handlers.clear()
