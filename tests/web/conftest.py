"""Fixtures for the web side: the real aiohttp app on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from web.app import create_app


def web_settings(database_url: str) -> Settings:
    """Test settings on ``database_url``, no bot."""
    return Settings(  # type: ignore[call-arg]
        PMD_ENV="test", PMD_DATABASE_URL=database_url, PMD_PUBLIC_URL="http://testserver"
    )


@asynccontextmanager
async def serving(settings: Settings, consultation: Consultation) -> AsyncIterator[TestClient]:
    """The real application on a socket, and an HTTP client talking to it."""
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """Development settings on a fresh SQLite database, no bot."""
    return web_settings(sqlite_url)


@pytest.fixture
async def client(settings: Settings, consultation: Consultation) -> AsyncIterator[TestClient]:
    """An HTTP client talking to the running application."""
    async with serving(settings, consultation) as test_client:
        yield test_client
