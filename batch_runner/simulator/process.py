"""The simulator as a separate process, for benchmarks and crash tests that run the real CLI."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def simulator_process(*args: str, startup_s: float = 20.0) -> Iterator[str]:
    """Run `batch-runner simulate ARGS` on a free port; yields its URL once it listens."""
    port = free_port()
    cmd = [sys.executable, "-m", "batch_runner", "simulate", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + startup_s
        while "http://" not in proc.stdout.readline().decode():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"simulator did not start: {' '.join(cmd)}")
        yield f"http://127.0.0.1:{port}/v1/query"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
