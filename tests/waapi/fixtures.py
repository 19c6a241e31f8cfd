"""Pytest fixtures for the local WhatsApp Cloud API (loaded from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.waapi.server import WhatsAppCloudServer


@pytest.fixture
async def waapi() -> AsyncIterator[WhatsAppCloudServer]:
    """A Cloud API server on 127.0.0.1 (free port) in the test's event loop."""
    server = WhatsAppCloudServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
