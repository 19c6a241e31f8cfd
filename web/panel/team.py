"""Managing the staff from the panel (admins): add by Telegram id or by name and e-mail,
change a role, remove, and a one-time login link for a member.

The services are the bot's (``staff.add_by``, ``add_web_by``, ``remove_by``): the role
is checked again in their transaction and each change goes to the audit log. A role
change or a removal ends every open panel session of the member (``staff_sessions``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.digits import number
from pmd_domain.errors import (
    ConfiguredAdmin,
    DomainError,
    InvalidEmail,
    NotAllowed,
    SelfRemoval,
)
from pmd_domain.services import audit, staff, staff_login
from web.keys import DATABASE, SETTINGS
from web.panel import login
from web.panel.common import back, notice_key, refresh_staff_menu
from web.panel.session import Staff, form_of, page, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PERMISSION = "manage_staff"
NOTICES = (
    "agregado",
    "rol_cambiado",
    "quitado",
    "no_estaba",
    "correo_invalido",
    "id_invalido",
    "rol_invalido",
    "configurado",
    "a_ti_mismo",
    "sin_permiso",
)
MEMBER = r"{member:-?[0-9]{1,18}}"
TELEGRAM_ID_MAX_DIGITS = 15


def _refusal(exc: DomainError) -> str:
    if isinstance(exc, ConfiguredAdmin):
        return "configurado"
    if isinstance(exc, SelfRemoval):
        return "a_ti_mismo"
    if isinstance(exc, NotAllowed):
        return "sin_permiso"
    if isinstance(exc, InvalidEmail):
        return "correo_invalido"
    return "rol_invalido"


@routes.get("/panel/equipo", name="panel_team")
@staff_only(permission=PERMISSION)
async def roster(request: web.Request, who: Staff) -> web.StreamResponse:
    """The staff list with its forms."""
    async with request.app[DATABASE].reading() as session:
        members = await staff.roster(session, admin_ids=request.app[SETTINGS].admin_ids)
    context: dict[str, Any] = {
        "who": who,
        "members": members,
        "roles": staff.ROLES,
        "notice": notice_key(request, NOTICES),
    }
    return page(request, "panel/team.html", context)


@routes.post("/panel/equipo/agregar", name="panel_team_add")
@staff_only(permission=PERMISSION)
async def add(request: web.Request, who: Staff) -> web.StreamResponse:
    """Add someone: by Telegram user id, or by name and e-mail for the web panel only."""
    form = await form_of(request)
    role, name = str(form.get("rol", "")), str(form.get("nombre", "")).strip()[:120] or None
    raw_id, email = str(form.get("telegram", "")).strip(), str(form.get("correo", "")).strip()
    user_id = number(raw_id, most=TELEGRAM_ID_MAX_DIGITS)
    if not email and user_id is None:
        return back(request, "panel_team", "id_invalido")
    try:
        async with request.app[DATABASE].transaction() as session:
            args: dict[str, Any] = {
                "actor_id": who.user_id,
                "admin_ids": request.app[SETTINGS].admin_ids,
                "role": role,
                "now": utcnow(),
                "name": name,
            }
            if email:
                member = await staff.add_web_by(session, email=email[:300], **args)
            else:
                assert user_id is not None
                member = await staff.add_by(session, user_id=user_id, **args)
            user_id = member.user_id
    except DomainError as exc:
        return back(request, "panel_team", _refusal(exc))
    await refresh_staff_menu(request, user_id=user_id, role=role)
    return back(request, "panel_team", "agregado")


@routes.post(f"/panel/equipo/{MEMBER}/rol", name="panel_team_role")
@staff_only(permission=PERMISSION)
async def change_role(request: web.Request, who: Staff) -> web.StreamResponse:
    """A new role (their open panel sessions end)."""
    form = await form_of(request)
    user_id, role = int(request.match_info["member"]), str(form.get("rol", ""))
    try:
        async with request.app[DATABASE].transaction() as session:
            await staff.add_by(
                session,
                actor_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
                user_id=user_id,
                role=role,
                now=utcnow(),
            )
    except DomainError as exc:
        return back(request, "panel_team", _refusal(exc))
    await refresh_staff_menu(request, user_id=user_id, role=role)
    return back(request, "panel_team", "rol_cambiado")


@routes.post(f"/panel/equipo/{MEMBER}/quitar", name="panel_team_remove")
@staff_only(permission=PERMISSION)
async def remove(request: web.Request, who: Staff) -> web.StreamResponse:
    """Remove a member (every open session of theirs ends at once)."""
    user_id = int(request.match_info["member"])
    try:
        async with request.app[DATABASE].transaction() as session:
            removed = await staff.remove_by(
                session,
                actor_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
                user_id=user_id,
                now=utcnow(),
            )
    except DomainError as exc:
        return back(request, "panel_team", _refusal(exc))
    if removed:
        await refresh_staff_menu(request, user_id=user_id, role=None)
    return back(request, "panel_team", "quitado" if removed else "no_estaba")


@routes.post(f"/panel/equipo/{MEMBER}/enlace", name="panel_team_link")
@staff_only(permission=PERMISSION)
async def link(request: web.Request, who: Staff) -> web.StreamResponse:
    """A one-time login link for a member, shown once to the admin who asked."""
    user_id = int(request.match_info["member"])
    settings = request.app[SETTINGS]
    try:
        async with request.app[DATABASE].transaction() as session:
            await staff.require(
                session, user_id=who.user_id, admin_ids=settings.admin_ids, permission=PERMISSION
            )
            now = utcnow()
            token = await staff_login.create_login_link(
                session, user_id=user_id, admin_ids=settings.admin_ids, now=now
            )
            await audit.record(
                session,
                actor=audit.staff_actor(who.user_id),
                action="staff.link",
                target=f"staff:{user_id}",
                now=now,
            )
    except DomainError as exc:
        return back(request, "panel_team", _refusal(exc))
    url = login.login_url(settings.public_url, token)
    minutes = int(staff_login.LINK_TTL.total_seconds() // 60)
    return page(request, "panel/team_link.html", {"who": who, "link": url, "minutes": minutes})
