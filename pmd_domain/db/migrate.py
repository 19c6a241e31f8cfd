"""Apply Alembic migrations programmatically (used by ``pmd db upgrade`` and ``pmd serve``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from pmd_domain.db.engine import _prepare_sqlite_file
from pmd_domain.db.faults import describe, is_transient

log = logging.getLogger("pmd.db")
WAIT_FIRST_SECONDS = 0.5
WAIT_MAX_SECONDS = 10.0


class DatabaseUnavailable(RuntimeError):
    """The database did not answer for the whole wait at start."""


MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def known_revisions() -> frozenset[str]:
    """The ids of the packaged migrations (what a database of this version may be at)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.revision for script in scripts.walk_revisions())


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (blocking)."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Run ``upgrade`` in a worker thread (Alembic's env runs its own event loop)."""
    await asyncio.to_thread(upgrade, url, revision)


async def upgrade_when_ready(url: str, *, wait: float) -> None:
    """``upgrade_async``, waiting up to ``wait`` seconds for a database that is not up yet.

    A passing failure (refused, timed out, shutting down, disk full) is tried again
    with pauses that double up to 10 s, each said in the log; after ``wait`` seconds
    ``DatabaseUnavailable`` is raised. Any other failure is raised at once.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    delay = WAIT_FIRST_SECONDS
    while True:
        try:
            await upgrade_async(url)
        except Exception as error:
            waited = loop.time() - started
            if not is_transient(error):
                raise
            if waited + delay > wait:
                raise DatabaseUnavailable(
                    f"la base de datos no respondió en {wait:.0f} s ({describe(error)['code']})"
                ) from None
            log.warning(
                "waiting for the database",
                extra={**describe(error), "waited": round(waited, 1), "retry_in": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, WAIT_MAX_SECONDS)
            continue
        if loop.time() - started > WAIT_FIRST_SECONDS:
            log.info("database reachable", extra={"waited": round(loop.time() - started, 1)})
        return
