"""``/healthz``: whether the database and the bot are up."""

from __future__ import annotations

from aiohttp import web

from web.keys import BOT_STATUS, DATABASE

routes = web.RouteTableDef()


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise; the bot's state is reported too."""
    database_ok = await request.app[DATABASE].ping()
    bot = request.app[BOT_STATUS].get("state", "disabled")
    body = {
        "status": "ok" if database_ok else "error",
        "database": "ok" if database_ok else "down",
        "bot": bot,
    }
    return web.json_response(body, status=200 if database_ok else 503)
