"""Fixtures for the web side: the real aiohttp app on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from web.app import create_app


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """Development settings on a fresh SQLite database, no bot."""
    return Settings(PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="http://testserver")


@pytest.fixture
async def client(settings: Settings, consultation: Consultation) -> AsyncIterator[TestClient]:
    """An HTTP client talking to the running application."""
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
