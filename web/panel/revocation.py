"""Revoking a participation certificate from the panel (the same service as ``/revocar``)."""

from __future__ import annotations

import logging

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.errors import NotAllowed, NotFound, TextNotReadable
from pmd_domain.services import certificates
from web.keys import DATABASE, SETTINGS
from web.panel.common import back, notice_key
from web.panel.session import Staff, form_of, page, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PERMISSION = "revoke"
NOTICES = ("revocada", "no_existe", "sin_motivo", "sin_permiso")
FOLIO_MAX = 24


@routes.get("/panel/constancias", name="panel_certificates")
@staff_only(permission=PERMISSION)
async def form(request: web.Request, who: Staff) -> web.StreamResponse:
    """The revocation form."""
    context = {
        "who": who,
        "notice": notice_key(request, NOTICES),
        "max_reason": certificates.REASON_MAX_CHARS,
    }
    return page(request, "panel/certificates.html", context)


@routes.post("/panel/constancias/revocar", name="panel_revoke")
@staff_only(permission=PERMISSION)
async def revoke(request: web.Request, who: Staff) -> web.StreamResponse:
    """Revoke by folio with a reason; every verification page then says so."""
    posted = await form_of(request)
    folio = str(posted.get("folio", "")).strip().upper()[:FOLIO_MAX]
    try:
        async with request.app[DATABASE].transaction() as session:
            await certificates.revoke_by(
                session,
                actor_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
                folio=folio,
                reason=str(posted.get("motivo", "")),
                now=utcnow(),
            )
    except NotFound:
        return back(request, "panel_certificates", "no_existe")
    except TextNotReadable:
        return back(request, "panel_certificates", "sin_motivo")
    except NotAllowed:
        return back(request, "panel_certificates", "sin_permiso")
    log.info("panel certificate revoked", extra={"staff": who.user_id})
    return back(request, "panel_certificates", "revocada")
