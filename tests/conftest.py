"""Async tests run on asyncio (aiohttp needs it), in debug mode so slow callbacks and leaks show."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, bool]]:
    return ("asyncio", {"debug": True})
