"""Test helpers for notifications: a real aiohttp listener that records what it receives, and the
real CLI run as a subprocess (so the command line's wiring is what is tested)."""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk_live_NOTIFY_9c4e71"
#: Variables a developer's shell may hold that would change where requests go.
NETWORK_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "https_proxy", "HTTPS_PROXY", "http_proxy",
               "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    body: bytes
    content_type: str

    def json(self) -> dict[str, object]:
        decoded = orjson.loads(self.body)
        assert isinstance(decoded, dict)
        return decoded


@dataclass
class Listener:
    url: str
    hits: list[Hit] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


@asynccontextmanager
async def listener(status: Callable[[str], int] = lambda path: 200, *,
                   ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> AsyncIterator[Listener]:
    """A webhook / healthchecks.io stand-in on a free loopback port, answering `status(path)`."""
    seen: list[Hit] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(Hit(request.method, request.path, await request.read(),
                        request.headers.get("Content-Type", "")))
        return web.Response(status=status(request.path), text="OK")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield Listener(url=f"{scheme}://{host}:{port}", hits=seen)
    finally:
        await runner.cleanup()


async def cli(*args: str | Path, env: dict[str, str] | None = None,
              timeout_s: float = 90) -> tuple[int, str, str]:
    """`python -m batch_runner ARGS` with RYE_API_KEY set and no proxy or CA from the shell."""
    base = {k: v for k, v in os.environ.items() if k not in NETWORK_ENV}
    full = {**base, "RYE_API_KEY": KEY, "RYE_SHOPPER_IP": "203.0.113.1", **(env or {})}
    cmd = [sys.executable, "-m", "batch_runner", *map(str, args)]
    with anyio.fail_after(timeout_s):
        done = await anyio.run_process(cmd, env=full, cwd=ROOT, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


FAST_RUN = ("--strict-rps", "50", "--default-rps", "500", "--poll-interval", "0.1",
            "--never-started-after", "5", "--stuck-after", "10", "--progress", "none")
