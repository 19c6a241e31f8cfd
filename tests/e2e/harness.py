"""Running the real bot (PTB over HTTP) against the local Bot API server, in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from bot.app import BotApplication, build_application, shutdown, start_polling, startup
from bot.context import Services
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer

PUBLIC = "https://participa.example.mx"


class StubLinks:
    """Public links as the web side would build them (its pages belong to other modules)."""

    def certificate(self, token: str) -> str:
        """The verification page of a certificate."""
        return f"{PUBLIC}/constancias/{token}"

    def privacy(self) -> str:
        """The full privacy notice."""
        return f"{PUBLIC}/privacidad"

    def dashboard(self) -> str:
        """The public dashboard."""
        return f"{PUBLIC}/"

    def panel_login(self, token: str) -> str:
        """A one-time login link into the staff area."""
        return f"{PUBLIC}/panel/entrar/{token}"

    def proposal(self, folio: str) -> str:
        """A proposal's public page."""
        return f"{PUBLIC}/propuestas/{folio}"


class BotApiAddress(Protocol):
    """Where a Bot API server listens: a ``BotApiServer``, or one in another process."""

    @property
    def url(self) -> str:
        """Its base URL, ``http://host:port``."""
        ...


def bot_settings(botapi: BotApiAddress, database: Database, **extra: str) -> Settings:
    """Test settings pointing the bot at the local Bot API server."""
    return Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=database.url,
        PMD_PUBLIC_URL=PUBLIC,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        **extra,
    )


def make_services(settings: Settings, database: Database, consultation: Consultation) -> Services:
    """The bot's services on ``database`` with stub links."""
    return Services(
        settings=settings,
        database=database,
        consultation=consultation,
        catalogs=Catalogs.load(),
        links=StubLinks(),
    )


def make_application(
    botapi: BotApiAddress, database: Database, consultation: Consultation, **extra: str
) -> BotApplication:
    """A bot application with the real conversation engine (not started); ``extra`` settings."""
    from pmd_domain.conversation import Conversation

    settings = bot_settings(botapi, database, **extra)
    services = make_services(settings, database, consultation)
    conversation = Conversation(
        consultation=consultation, catalogs=services.catalogs, links=services.links
    )
    return build_application(settings, services=services, conversation=conversation)


@asynccontextmanager
async def polling_bot(
    botapi: BotApiServer, database: Database, consultation: Consultation, **extra: str
) -> AsyncIterator[BotApplication]:
    """The bot, long polling the local server, for the duration of the block.

    ``extra`` are more settings by their variable name (``PMD_ADMIN_IDS="7001"``).
    """
    application = make_application(botapi, database, consultation, **extra)
    await startup(application)
    await start_polling(application, timeout=2)
    try:
        yield application
    finally:
        await shutdown(application)
