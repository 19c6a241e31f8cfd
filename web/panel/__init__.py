"""The staff analysis area at ``/panel``: review, align, group duplicates, record outcomes, export."""

from __future__ import annotations

from aiohttp import web

from web.panel import export, integrity, login, views


def setup(app: web.Application) -> None:
    """Add the staff area's routes to ``app``."""
    app.router.add_routes(login.routes)
    app.router.add_routes(views.routes)
    app.router.add_routes(export.routes)
    app.router.add_routes(integrity.routes)
