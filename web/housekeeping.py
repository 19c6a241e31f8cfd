"""Runs ``pmd_domain.services.housekeeping.prune`` every hour while the service runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import housekeeping
from web.keys import DATABASE

log = logging.getLogger("pmd.housekeeping")

FIRST_RUN_AFTER = 60.0
EVERY = 3600.0


async def prune_once(app: web.Application) -> dict[str, int]:
    """One clean-up in its own transaction."""
    # A scan of the processed updates: off the event loop.
    async with app[DATABASE].transaction(bulk=True) as session:
        return await housekeeping.prune(session, now=utcnow())


async def _loop(app: web.Application) -> None:
    await asyncio.sleep(FIRST_RUN_AFTER)
    while True:
        try:
            removed = await prune_once(app)
            log.info("housekeeping", extra={"removed": removed})
        except Exception as error:  # a failed clean-up must not stop the service
            RepeatedLog().failure(log, "housekeeping failed", error)
        await asyncio.sleep(EVERY)


async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the hourly clean-up with the app; stop it on shutdown."""
    task = asyncio.create_task(_loop(app), name="pmd-housekeeping")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
