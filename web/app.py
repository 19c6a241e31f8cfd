"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from pmd_domain.certificates.renderer import CertificateRenderer
from pmd_domain.consultation import Consultation, load_consultation
from pmd_domain.conversation import Conversation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade_when_ready
from pmd_domain.i18n import Catalogs
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import ranking, sources
from pmd_domain.services.verification import CodeBook
from pmd_domain.settings import Settings
from web import (
    catalogue,
    certificates,
    chat,
    dashboard,
    health,
    i18n,
    metrics,
    panel,
    proposals,
    telegram,
    whatsapp,
)
from web.clients import trusted_proxies
from web.housekeeping import housekeeping_ctx
from web.keys import (
    BOT_STATUS,
    CAMPAIGN_TRANSPORTS,
    CATALOGS,
    CONSULTATION,
    CONVERSATION,
    DATABASE,
    FAILURES,
    RENDERER,
    SETTINGS,
)
from web.links import RouterLinks
from web.presence import presence_ctx
from web.security import errors, hide_server_version, quiet_malformed_requests, security_headers

HERE = Path(__file__).parent


def create_app(
    settings: Settings,
    *,
    consultation: Consultation | None = None,
    database: Database | None = None,
    migrate: bool = True,
) -> web.Application:
    """Build the web application; resources open and close in its lifecycle hooks."""
    app = web.Application(
        middlewares=[errors, trusted_proxies(settings.trusted_proxies)],
        client_max_size=256 * 1024,
    )
    app.on_response_prepare.append(security_headers)
    hide_server_version()
    quiet_malformed_requests()
    app[SETTINGS] = settings
    app[CONSULTATION] = consultation or load_consultation(settings.consultation)
    app[BOT_STATUS] = {"state": "disabled"}
    app[CATALOGS] = Catalogs.load()
    app[FAILURES] = RepeatedLog()
    # Certificate PDFs render in a worker process (started on first use).
    app[RENDERER] = CertificateRenderer()
    app.on_cleanup.append(_close_renderer)
    # One conversation engine for every channel (the browser chat, Telegram, WhatsApp).
    app[CONVERSATION] = Conversation(
        consultation=app[CONSULTATION],
        catalogs=app[CATALOGS],
        links=RouterLinks(app.router, settings.public_url),
        executor=app[RENDERER].executor,
        codes=CodeBook(secret=settings.secret_key),
    )
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.globals.update(_globals(app[CONSULTATION]))
    i18n.setup(app, env)
    app.router.add_routes(health.routes)
    chat.setup(app)
    certificates.setup(app)
    panel.setup(app)
    app.router.add_static("/static", HERE / "static", name="static", append_version=True)

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            # A database that is not up yet (a restart of both) is waited for.
            await upgrade_when_ready(settings.database_url, wait=settings.database_wait)
        owned = database is None
        app[DATABASE] = database or Database(settings.database_url)
        # The ranking follows the consultation's [integrity] count_levels, also when
        # the file changed since the last start (only proposals that differ are written).
        async with app[DATABASE].transaction(bulk=True) as session:
            await ranking.recount(session, consultation=app[CONSULTATION])
        if migrate:
            async with app[DATABASE].transaction(bulk=True) as session:
                await sources.fold_unlisted(session, consultation=app[CONSULTATION])
        yield
        if owned:
            await app[DATABASE].dispose()

    app.cleanup_ctx.append(database_ctx)
    metrics.setup(app)
    app.cleanup_ctx.append(housekeeping_ctx)
    app.cleanup_ctx.append(presence_ctx)
    dashboard.setup(app)
    proposals.setup(app)
    app.router.add_routes(catalogue.routes)
    app[CAMPAIGN_TRANSPORTS] = []
    whatsapp.setup(app)  # the WhatsApp webhook, when the WHATSAPP_* settings are set
    telegram.setup(app)  # the bot, when TELEGRAM_BOT_TOKEN is set
    return app


async def _close_renderer(app: web.Application) -> None:
    await asyncio.to_thread(app[RENDERER].close)


def _globals(consultation: Consultation) -> dict[str, object]:
    return {
        "consultation": consultation,
        "exercise_title": consultation.text(consultation.exercise.title, "es"),
        "municipality": consultation.exercise.municipality,
    }
