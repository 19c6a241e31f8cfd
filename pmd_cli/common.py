"""What every ``pmd`` command shares: settings, the consultation, a database session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pmd_domain.consultation import Consultation, load_consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from pmd_domain.settings import Settings, load_settings


class CommandError(Exception):
    """A command could not be carried out; the message is shown to the user."""


def settings() -> Settings:
    """The settings from the environment and ``.env``."""
    return load_settings()


def consultation(config: Settings) -> Consultation:
    """The configured consultation (the packaged default when none is set)."""
    return load_consultation(config.consultation)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion."""
    return asyncio.run(coro)


async def with_database(config: Settings, work: Callable[[Database], Awaitable[Any]]) -> Any:
    """Migrate, open the database, run ``work`` with it and close it."""
    await asyncio.to_thread(upgrade, config.database_url)
    database = Database(config.database_url)
    try:
        return await work(database)
    finally:
        await database.dispose()
