"""A small HTTP proxy for tests, run as its own process: CONNECT tunnels and plain forwarding.

    python -m tests.proxy_server --log FILE [--map HOST=ADDRESS ...] [--auth USER:PASSWORD]

It prints `PORT <n>` on stdout once it listens on 127.0.0.1, and appends one JSON line per
request to its access log: method, target, status, whether Proxy-Authorization was right, and
(for tunnels, when they close) the bytes carried each way. The log never holds the credentials.
`--map rye.test=127.0.0.1` resolves a name the way a corporate proxy's DNS would, so a test can
reach a local server under a name that is not loopback (and is proxied) with a certificate
issued for that name. Like a real proxy it sees only host and port inside a CONNECT tunnel.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import sys
from pathlib import Path

MAX_HEAD = 64 * 1024


class Proxy:
    def __init__(self, log: Path, names: dict[str, str], auth: str | None) -> None:
        self.log = log
        self.names = names
        self.expected = "Basic " + base64.b64encode(auth.encode()).decode() if auth else None

    def record(self, **fields: object) -> None:
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(fields) + "\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:] if line)}
        given = headers.get("proxy-authorization")
        auth = "none" if given is None else "ok" if given == self.expected else "wrong"
        if self.expected is not None and auth != "ok":
            self.record(method=method, target=target, status=407, auth=auth)
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                         b"Connection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            await self.tunnel(target, auth, reader, writer)
        else:
            await self.forward(method, target, headers, auth, lines, reader, writer)

    def resolve(self, host: str) -> str:
        return self.names.get(host.lower(), host)

    async def tunnel(self, target: str, auth: str, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        host, _, port = target.rpartition(":")
        try:
            up_reader, up_writer = await asyncio.open_connection(self.resolve(host), int(port))
        except OSError:
            self.record(method="CONNECT", target=target, status=502, auth=auth)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        self.record(method="CONNECT", target=target, status=200, auth=auth)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        up, down = await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        writer.close()
        up_writer.close()
        self.record(method="CONNECT", target=target, closed=True, bytes_up=up, bytes_down=down)

    async def forward(self, method: str, target: str, headers: dict[str, str], auth: str,
                      lines: list[str], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """An absolute-form request (http://host:port/path), sent on with Connection: close."""
        rest = target.split("://", 1)[-1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        kept = [line for line in lines[1:] if line and line.split(":", 1)[0].lower()
                not in ("proxy-authorization", "proxy-connection", "connection")]
        request = "\r\n".join([f"{method} /{path} HTTP/1.1", *kept, "Connection: close", "", ""])
        up_reader, up_writer = await asyncio.open_connection(self.resolve(host), int(port or 80))
        up_writer.write(request.encode("latin-1") + body)
        await up_writer.drain()
        answer = await up_reader.read()
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "?"
        self.record(method=method, target=target, status=int(status) if status.isdigit() else 0,
                    auth=auth, bytes_up=len(body), bytes_down=len(answer))
        writer.write(answer)
        await writer.drain()
        writer.close()
        up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> int:
    carried = 0
    try:
        while chunk := await source.read(65536):
            carried += len(chunk)
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            if sink.can_write_eof():
                sink.write_eof()
            else:
                sink.close()
    return carried


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--map", action="append", default=[], help="HOST=ADDRESS")
    parser.add_argument("--auth", help="USER:PASSWORD required in Proxy-Authorization")
    args = parser.parse_args(argv)
    names = dict(item.split("=", 1) for item in args.map)
    proxy = Proxy(args.log, names, args.auth)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1:]))
