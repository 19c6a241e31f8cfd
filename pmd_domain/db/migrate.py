"""Apply Alembic migrations programmatically (used by ``pmd db upgrade`` and ``pmd serve``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from pmd_domain.db.engine import _prepare_sqlite_file

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (blocking)."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Run ``upgrade`` in a worker thread (Alembic's env runs its own event loop)."""
    await asyncio.to_thread(upgrade, url, revision)
