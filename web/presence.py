"""Say in the database that this process is serving, every few seconds, and leave on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from pmd_domain.aio import raise_if_cancelled
from pmd_domain.clock import utcnow
from pmd_domain.services import serving
from web.keys import DATABASE

log = logging.getLogger("pmd.presence")


async def presence_ctx(app: web.Application) -> AsyncIterator[None]:
    """Beat from start-up (after the database opened) to shutdown."""
    database = app[DATABASE]
    process_id, host, pid, started_at = (
        uuid.uuid4().hex,
        socket.gethostname(),
        os.getpid(),
        utcnow(),
    )

    async def beat() -> None:
        async with database.transaction() as session:
            await serving.beat(
                session,
                process_id=process_id,
                host=host,
                pid=pid,
                started_at=started_at,
                now=utcnow(),
            )

    async def loop() -> None:
        while True:
            await asyncio.sleep(serving.BEAT_SECONDS)
            try:
                await beat()
            except Exception as exc:  # the database may be down for a moment: next beat
                raise_if_cancelled()  # a stop that a database driver turned into an error
                log.warning("presence not recorded", extra={"reason": type(exc).__name__})

    await beat()
    task = asyncio.create_task(loop(), name="pmd-presence")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with contextlib.suppress(Exception):
        async with database.transaction() as session:
            await serving.leave(session, process_id=process_id)
