"""Entering the staff area with a one-time link, and leaving it."""

from __future__ import annotations

import logging

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.errors import LoginLinkInvalid
from pmd_domain.services import staff_login, staff_sessions
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
        return session.refused(request, "open_in_browser", 200)
    try:
        async with request.app[DATABASE].transaction() as db:
            now = utcnow()
            user_id, role = await staff_login.redeem(
                db,
                token=request.match_info["token"],
                now=now,
                admin_ids=request.app[SETTINGS].admin_ids,
            )
            value = await staff_sessions.open_session(db, user_id=user_id, role=role, now=now)
    except LoginLinkInvalid:
        return session.refused(request, "link_invalid")
    log.info("staff logged in", extra={"staff": user_id, "role": role})
    # A page that moves on by itself rather than a 302: after a click on another site
    # (Telegram Web) the browser would not send the SameSite=Strict cookie along a
    # redirect, but it does on a navigation started by this page.
    response = session.page(
        request, "panel/enter.html", {"target": str(request.app.router["panel"].url_for())}
    )
    session.start(response, request, value=value)
    return response


@routes.get("/panel/salir", name="panel_logout")
async def leave_page(request: web.Request) -> web.StreamResponse:
    """Leaving is a POST with the session's form token; this page only offers the button."""
    who = await session.current(request)
    if who is None:
        return _left(request)
    return session.page(request, "panel/leave.html", {"who": who})


@routes.post("/panel/salir")
async def leave(request: web.Request) -> web.StreamResponse:
    """Leave from the button: the session ends on the server, not only in this browser."""
    who = await session.current(request)
    if who is not None:
        if problem := await session.posted_form(request, who):
            return problem
        async with request.app[DATABASE].transaction() as db:
            await staff_sessions.close(db, value=request.cookies.get(session.COOKIE, ""))
        log.info("staff logged out", extra={"staff": who.user_id})
    return _left(request)


def login_url(public_url: str, token: str) -> str:
    """The absolute login link for ``token``, from this module's route table (no app needed)."""
    return route_url(routes, public_url, "panel_login", token=token)


def _left(request: web.Request) -> web.StreamResponse:
    response = session.refused(request, "logged_out", 200)
    session.end(response)
    return response
