"""Pytest fixtures for the local Bot API server (loaded from tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.botapi.server import DEFAULT_TOKEN, BotApiServer

# PTB 22.2+ warns (an error under our filterwarnings) whenever it builds RetryAfter
# with an int retry_after; opt in to the future behaviour: ``exc.retry_after`` is a
# ``datetime.timedelta`` in the whole test session (subprocesses inherit it).
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def botapi() -> AsyncIterator[BotApiServer]:
    """A Bot API server on 127.0.0.1 (free port) in the test's event loop."""
    server = BotApiServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def botapi_thread() -> Iterator[BotApiServer]:
    """A Bot API server in its own thread and loop (sync tests, subprocess bots)."""
    server = BotApiServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture
def bot_token() -> str:
    """A token the local server accepts (bot id 123456789)."""
    return DEFAULT_TOKEN
