"""Entering the staff area with a one-time link, and leaving it."""

from __future__ import annotations

import logging

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.errors import LoginLinkInvalid
from pmd_domain.services import staff_login
from web.keys import DATABASE, SETTINGS
from web.links import route_url
from web.panel import session

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


# Link-preview fetchers that would otherwise use up a one-time link before the person
# clicks it (the bot also sends the link with previews disabled).
PREVIEW_AGENTS = ("telegrambot", "whatsapp", "facebookexternalhit", "slackbot", "discordbot")


@routes.get("/panel/entrar/{token}", name="panel_login", allow_head=False)
async def enter(request: web.Request) -> web.StreamResponse:
    """Use a login link: set the session cookie and go on to the panel."""
    agent = request.headers.get("User-Agent", "").lower()
    if any(name in agent for name in PREVIEW_AGENTS):
        return session.message(
            request, "Panel de análisis", "Abre este enlace en tu navegador.", 200
        )
    try:
        async with request.app[DATABASE].transaction() as db:
            user_id, role = await staff_login.redeem(
                db,
                token=request.match_info["token"],
                now=utcnow(),
                admin_ids=request.app[SETTINGS].admin_ids,
            )
    except LoginLinkInvalid:
        return session.message(
            request,
            "Enlace no válido",
            "El enlace ya no es válido; pide uno nuevo con /panel en el bot.",
            403,
        )
    log.info("staff logged in", extra={"staff": user_id, "role": role})
    # A page that moves on by itself rather than a 302: after a click on another site
    # (Telegram Web) the browser would not send the SameSite=Strict cookie along a
    # redirect, but it does on a navigation started by this page.
    response = session.page(
        request, "panel/enter.html", {"target": str(request.app.router["panel"].url_for())}
    )
    session.start(response, request, user_id=user_id, role=role)
    return response


@routes.get("/panel/salir", name="panel_logout")
async def leave_page(request: web.Request) -> web.StreamResponse:
    """Leave: the cookie is removed (SameSite=Strict keeps other sites from doing this)."""
    return _left(request)


@routes.post("/panel/salir")
async def leave(request: web.Request) -> web.StreamResponse:
    """Leave the staff area from its button."""
    return _left(request)


def login_url(public_url: str, token: str) -> str:
    """The absolute login link for ``token``, from this module's route table (no app needed)."""
    return route_url(routes, public_url, "panel_login", token=token)


def _left(request: web.Request) -> web.StreamResponse:
    response = session.message(
        request, "Sesión cerrada", "Saliste del panel. Para volver, pide un enlace con /panel.", 200
    )
    session.end(response)
    return response
