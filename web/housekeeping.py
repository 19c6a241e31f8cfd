"""Hourly chores while the service runs: ``housekeeping.prune``, the retention purge
(``retention.purge``, once the exercise is past its retention period), and reading
the consultation file's campaign sources again when the file changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from pmd_domain.aio import raise_if_cancelled
from pmd_domain.clock import utcnow
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import housekeeping, retention
from web.keys import CONSULTATION, DATABASE

log = logging.getLogger("pmd.housekeeping")

FIRST_RUN_AFTER = 60.0
EVERY = 3600.0
SOURCES_EVERY = 5.0


async def prune_once(app: web.Application) -> dict[str, int]:
    """One clean-up in its own transaction, then the retention purge in another."""
    now = utcnow()
    # A scan of the processed updates: off the event loop.
    async with app[DATABASE].transaction(bulk=True) as session:
        removed = await housekeeping.prune(session, now=now)
    async with app[DATABASE].transaction(bulk=True) as session:
        purged = await retention.purge(session, consultation=app[CONSULTATION], now=now)
    removed["anonymised_participants"] = purged.participants
    return removed


async def _loop(app: web.Application) -> None:
    await asyncio.sleep(FIRST_RUN_AFTER)
    while True:
        try:
            removed = await prune_once(app)
            log.info("housekeeping", extra={"removed": removed})
        except Exception as error:  # a failed clean-up must not stop the service
            raise_if_cancelled()  # a stop that a database driver turned into an error
            RepeatedLog().failure(log, "housekeeping failed", error)
        await asyncio.sleep(EVERY)


async def _follow_sources(app: web.Application) -> None:
    while True:
        await asyncio.sleep(SOURCES_EVERY)
        try:
            # A stat of the file; reading it again only when it changed (off the loop).
            if await asyncio.to_thread(app[CONSULTATION].reload_sources):
                log.info("campaign sources reloaded")
        except Exception:
            log.exception("campaign sources not reloaded")


async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the hourly clean-up and the sources' follower with the app; stop them on shutdown."""
    tasks = [
        asyncio.create_task(_loop(app), name="pmd-housekeeping"),
        asyncio.create_task(_follow_sources(app), name="pmd-sources"),
    ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
