"""The staff area at ``/panel``: analysis and exports, moderation, certificates, the team,
campaigns, integrity — everything staff do in the bot."""

from __future__ import annotations

from aiohttp import web

from web.panel import campaigns, export, integrity, login, moderation, revocation, team, views


def setup(app: web.Application) -> None:
    """Add the staff area's routes to ``app``."""
    app.router.add_routes(login.routes)
    app.router.add_routes(views.routes)
    app.router.add_routes(export.routes)
    app.router.add_routes(integrity.routes)
    app.router.add_routes(moderation.routes)
    app.router.add_routes(revocation.routes)
    app.router.add_routes(team.routes)
    app.router.add_routes(campaigns.routes)
