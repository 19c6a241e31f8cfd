"""The panel's integrity page: supports by level, the anomaly watch, codes, kiosks, audit log.

Every staff member may look; acting (discounting a burst's supports, issuing a code,
enrolling or withdrawing a kiosk) needs the ``integrity`` permission, checked here and
again by each service inside its transaction. Forms carry the session's CSRF token
(``staff_only``). Messages come from the catalogues (``integrity.po``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import utcnow
from pmd_domain.digits import number
from pmd_domain.errors import DomainError, NotAllowed
from pmd_domain.services import anomalies, audit, kiosks, staff, stats, verification
from web import identity
from web.keys import CATALOGS, CONSULTATION, DATABASE, SETTINGS
from web.panel.session import Staff, form_of, message, page, redirect, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
T = TypeVar("T")
PERMISSION = "integrity"
NOTICES = ("descontado", "restaurado", "kiosco", "retirado", "sin_permiso", "invalido")


def _t(request: web.Request, key: str, **params: object) -> str:
    return request.app[CATALOGS].text("es", key, **params)


async def _change(
    request: web.Request, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, str | None]:
    """Run ``work`` in a write transaction; a refusal becomes the notice to show."""
    try:
        async with request.app[DATABASE].transaction() as session:
            return await work(session), None
    except NotAllowed:
        return None, "sin_permiso"
    except DomainError:
        return None, "invalido"


def _back(request: web.Request, notice: str) -> web.Response:
    target = request.app.router["panel_integrity"].url_for()
    return redirect(str(target.with_query(aviso=notice)))


@routes.get("/panel/integridad", name="panel_integrity")
@staff_only()
async def overview(request: web.Request, who: Staff) -> web.StreamResponse:
    """Supports by level, flagged bursts, kiosks and the latest audit entries."""
    consultation, catalogs = request.app[CONSULTATION], request.app[CATALOGS]
    now = utcnow()
    async with request.app[DATABASE].reading() as session:
        summary = await stats.summary(session, consultation=consultation, now=now)
        flagged = await anomalies.bursts(session, consultation=consultation, now=now)
        kiosk_rows = await kiosks.listing(session)
        entries = await audit.recent(session)
        who_acted = await audit.actor_names(session, entries, catalogs=catalogs, language="es")
    notice = request.query.get("aviso", "")
    context: dict[str, Any] = {
        "who": who,
        "may_act": staff.may(who.role, PERMISSION),
        "levels": [
            (catalogs.text("es", f"panel.level.{key}"), count)
            for key, count in summary.supports_by_level.items()
        ],
        "counted": [
            catalogs.text("es", f"panel.level.{level}")
            for level in consultation.integrity.count_levels
        ],
        "supports": summary.supports,
        "bursts": [
            {
                "text": anomalies.describe(
                    b, consultation=consultation, catalogs=catalogs, language="es"
                ),
                "target": b.target,
                "supports": b.supports,
                "discounted": b.discounted,
            }
            for b in flagged
        ],
        "watch_hours": consultation.integrity.bursts.watch_hours,
        "kiosks": kiosk_rows,
        "entries": [
            (
                entry,
                who_acted.get(entry.actor),
                audit.describe_details(
                    entry.details,
                    catalogs=catalogs,
                    zone=consultation.exercise.timezone,
                    language="es",
                ),
            )
            for entry in entries
        ],
        "notice": _t(request, f"panel.integrity.{notice}") if notice in NOTICES else None,
    }
    return page(request, "panel/integrity.html", context)


@routes.post("/panel/integridad/descontar", name="panel_discount")
@staff_only()
async def discount(request: web.Request, who: Staff) -> web.StreamResponse:
    """Discount (or restore) the supports of a flagged burst."""
    form = await form_of(request)
    restore = form.get("accion") == "restaurar"
    changed, refused = await _change(
        request,
        lambda session: anomalies.discount(
            session,
            consultation=request.app[CONSULTATION],
            target=str(form.get("objetivo", ""))[:160],
            staff_id=who.user_id,
            admin_ids=request.app[SETTINGS].admin_ids,
            now=utcnow(),
            restore=restore,
        ),
    )
    if refused:
        return _back(request, refused)
    log.info(
        "panel discount", extra={"staff": who.user_id, "supports": changed, "restore": restore}
    )
    return _back(request, "restaurado" if restore else "descontado")


@routes.post("/panel/integridad/codigo", name="panel_code")
@staff_only()
async def issue_code(request: web.Request, who: Staff) -> web.StreamResponse:
    """Issue one in-person code on the spot; it is shown once, on this page."""
    consultation = request.app[CONSULTATION]
    now = utcnow()
    codes, refused = await _change(
        request,
        lambda session: verification.issue_in_person(
            session,
            secret=request.app[SETTINGS].secret_key,
            consultation=consultation,
            count=1,
            now=now,
            staff_id=who.user_id,
            admin_ids=request.app[SETTINGS].admin_ids,
        ),
    )
    if refused or not codes:
        return _back(request, refused or "invalido")
    [code] = codes
    log.info("panel code issued", extra={"staff": who.user_id})
    expires = now + timedelta(days=consultation.integrity.codes.in_person_days)
    context = {
        "who": who,
        "code": verification.shown(code),
        "expires": expires,
    }
    return page(request, "panel/code.html", context)


@routes.post("/panel/integridad/kiosco", name="panel_kiosk")
@staff_only()
async def enroll(request: web.Request, who: Staff) -> web.StreamResponse:
    """Make this browser a kiosk: its participants are verified in person."""
    form = await form_of(request)
    enrolled, refused = await _change(
        request,
        lambda session: kiosks.enroll(
            session,
            secret=request.app[SETTINGS].secret_key,
            label=str(form.get("nombre", ""))[:200],
            staff_id=who.user_id,
            admin_ids=request.app[SETTINGS].admin_ids,
            now=utcnow(),
        ),
    )
    if refused or enrolled is None:
        return _back(request, refused or "invalido")
    kiosk, token = enrolled
    log.info("panel kiosk enrolled", extra={"staff": who.user_id, "kiosk": kiosk.id})
    response = _back(request, "kiosco")
    identity.enroll_browser(response, request, token)
    return response


@routes.post("/panel/integridad/kioscos/{kiosk}/retirar", name="panel_kiosk_withdraw")
@staff_only()
async def withdraw(request: web.Request, who: Staff) -> web.StreamResponse:
    """Withdraw a kiosk (its browser becomes an ordinary one at once)."""
    kiosk_id = number(request.match_info["kiosk"])
    if kiosk_id is None:
        return message(
            request,
            _t(request, "panel.integrity.title"),
            _t(request, "panel.integrity.invalido"),
            404,
        )
    _, refused = await _change(
        request,
        lambda session: kiosks.withdraw(
            session,
            kiosk_id=kiosk_id,
            staff_id=who.user_id,
            admin_ids=request.app[SETTINGS].admin_ids,
            now=utcnow(),
        ),
    )
    return _back(request, refused or "retirado")
