"""What every command's --help ends with: the environment it reads and what its exit status means.

Text only; cli.py hangs it under each parser (argparse's RawDescriptionHelpFormatter keeps the
line breaks). The exit lines come from core/notice.py, the table the notifications use too.
"""

from __future__ import annotations

import argparse
from typing import Any

from batch_runner.core.notice import EXIT_MEANING

ENVIRONMENT = """\
environment:
  RYE_API_KEY      Rye API key; required by run, only ever read from the environment
  RYE_SHOPPER_IP   shopper IP for submitCart when neither --shopper-ip nor the job file sets one
  BATCH_RUNNER_NOTIFY_URL, BATCH_RUNNER_PING_URL
                   --notify-url and --ping-url when neither a flag nor the job file sets them
  HTTPS_PROXY      proxy for https:// requests (the API, --notify-url, --ping-url), as curl
                   reads it: http://[user:password@]proxy.example:3128 (ALL_PROXY as a fallback;
                   HTTP_PROXY for http:// URLs, which are loopback only and never proxied)
  NO_PROXY         hosts reached directly: names (also covering subdomains), IPs, CIDR ranges,
                   or *; loopback is always reached directly
  SSL_CERT_FILE    PEM file of trusted CAs, e.g. your network's TLS-inspecting proxy's CA
                   (certificates are always verified)"""


def exit_status_text() -> str:
    lines = ["exit status:"]
    lines += [f"  {code}  {meaning}" for code, meaning in sorted(EXIT_MEANING.items())]
    return "\n".join(lines)


EPILOG = f"{ENVIRONMENT}\n\n{exit_status_text()}\n"
RUN_EPILOG = f"""\
unattended runs (cron, systemd): the summary goes to stdout, the log and errors to stderr.
  --ping-url URL    healthchecks.io style: URL/start when the run starts, URL on exit 0 or 1,
                    URL/fail on exit 2 or 3 (the summary text is the ping's body)
  --notify-url URL  one JSON POST at the end; its "text" field reads well in a Slack or Teams
                    incoming webhook. Both are https (http only to loopback), secrets that are
                    redacted from logs, and never hold the run up more than a few seconds.

{EPILOG}"""


def parser_options(epilog: str = EPILOG) -> dict[str, Any]:
    """Keyword arguments for ArgumentParser / add_parser: the epilog with its line breaks kept."""
    return {"epilog": epilog, "formatter_class": argparse.RawDescriptionHelpFormatter}
