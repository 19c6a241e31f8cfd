"""The product with its WhatsApp channel, served by ``create_app`` on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from tests.e2e.hosting import free_port
from tests.waapi.server import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, WhatsAppCloudServer
from web.app import create_app
from web.whatsapp import WEBHOOK_PATH


def whatsapp_settings(
    waapi: WhatsAppCloudServer, database_url: str, port: int, **extra: Any
) -> Settings:
    """Settings of a product whose WhatsApp channel talks to ``waapi``."""
    return Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=database_url,
        PMD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        WHATSAPP_API_URL=waapi.url,
        WHATSAPP_PHONE_NUMBER_ID=waapi.phone_number_id,
        WHATSAPP_ACCESS_TOKEN=ACCESS_TOKEN,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        **extra,
    )


@asynccontextmanager
async def serving(
    waapi: WhatsAppCloudServer,
    database_url: str,
    consultation: Consultation,
    *,
    port: int | None = None,
    **extra: Any,
) -> AsyncIterator[web.Application]:
    """The product serving on ``port`` (a free one), its webhook known to ``waapi``."""
    port = port or free_port()
    settings = whatsapp_settings(waapi, database_url, port, **extra)
    app = create_app(settings, consultation=consultation)
    async with TestServer(app, host="127.0.0.1", port=port):
        waapi.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        yield app
