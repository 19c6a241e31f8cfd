"""``/healthz``: whether the database (reads, writes, disk) and the bot are up.

It answers within ``ANSWER_WITHIN_SECONDS`` whatever the database does: a frozen
server is "down" rather than a request that hangs. 503 when the database does not
answer, when its last write failed for a passing reason (a full disk, a lost
connection; until a write succeeds again), or when SQLite's disk has less room
than its write-ahead log needs (``low_disk``).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from pmd_domain.db import Database
from pmd_domain.db.sqlite_writer import CHECKPOINT_WAL_BYTES
from web.keys import BOT_STATUS, DATABASE

ANSWER_WITHIN_SECONDS = 1.5
# The log grows to about this before it is copied; the file then needs room too.
MIN_FREE_BYTES = 2 * CHECKPOINT_WAL_BYTES

routes = web.RouteTableDef()


async def _room(database: Database) -> int | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(database.free_bytes), ANSWER_WITHIN_SECONDS)
    except (TimeoutError, OSError):
        return 0


def database_state(database: Database, *, answers: bool, room: int | None) -> str:
    """``ok``, ``down`` (no answer), ``failing`` (writes fail) or ``low_disk``."""
    if not answers:
        return "down"
    if database.writes_failing:
        return "failing"
    if room is not None and room < MIN_FREE_BYTES:
        return "low_disk"
    return "ok"


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and takes writes, 503 otherwise; the bot's state too."""
    database = request.app[DATABASE]
    answers, room = await asyncio.gather(
        database.ping(timeout=ANSWER_WITHIN_SECONDS), _room(database)
    )
    state = database_state(database, answers=answers, room=room)
    bot = request.app[BOT_STATUS].get("state", "disabled")
    body = {"status": "ok" if state == "ok" else "error", "database": state, "bot": bot}
    return web.json_response(body, status=200 if state == "ok" else 503)
