"""The moderation queue in the panel: Publicar, Rechazar con motivo, Reasignar tema.

The same services as ``/moderar`` in the bot (``moderation.decide`` does the whole
decision: the role checked again, the author's message queued, the audit record),
each in one transaction. Reported proposals come first. A form is one POST with the
session's CSRF token (``staff_only``), so nothing needs JavaScript.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.errors import AlreadyModerated, DomainError, NotAllowed, NotFound
from pmd_domain.services import moderation
from web.keys import CATALOGS, CONSULTATION, DATABASE, SETTINGS
from web.panel.common import back, notice_key, topic_choices, wake_notifications
from web.panel.session import LANGUAGE, Staff, form_of, page, staff_only
from web.panel.views import names_of

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PERMISSION = "moderate"
QUEUE_SHOWN = 20
NOTICES = (
    "publicada",
    "rechazada",
    "reasignada",
    "ya_revisada",
    "motivo_invalido",
    "tema_invalido",
    "sin_permiso",
)
CURSOR = re.compile(r"^([0-9]{1,9})-([0-9]{1,18})$")
FOLIO = re.compile(r"^[A-Z0-9-]{1,24}$")


def _cursor(raw: str) -> moderation.Cursor | None:
    found = CURSOR.match(raw)
    return (int(found.group(1)), int(found.group(2))) if found else None


@routes.get("/panel/moderar", name="panel_moderation")
@staff_only(permission=PERMISSION)
async def queue(request: web.Request, who: Staff) -> web.StreamResponse:
    """The first waiting proposal (after ``despues`` when skipping) and the queue's head."""
    after = _cursor(request.query.get("despues", ""))
    async with request.app[DATABASE].reading() as session:
        found = await moderation.next_waiting(session, after=after)
        head = await moderation.proposals.pending_queue(session, limit=QUEUE_SHOWN)
    consultation, lang = request.app[CONSULTATION], LANGUAGE
    folio = request.query.get("folio", "")
    context: dict[str, Any] = {
        "who": who,
        "lang": lang,
        "current": found.proposal,
        "waiting": found.waiting,
        "head": head,
        "skipped": after is not None,
        "notice": notice_key(request, NOTICES),
        "notice_folio": folio if FOLIO.match(folio) else "",
        "quick_reasons": [
            (key, request.app[CATALOGS].text(lang, moderation.quick_reason(key)))
            for key in moderation.QUICK_REASONS
        ],
        "topics": topic_choices(consultation),
        "names": names_of(consultation),
        "max_reason": moderation.REASON_MAX_CHARS,
    }
    return page(request, "panel/moderation.html", context)


@routes.post(r"/panel/moderar/{proposal:[0-9]{1,18}}", name="panel_moderate")
@staff_only(permission=PERMISSION)
async def decide(request: web.Request, who: Staff) -> web.StreamResponse:
    """One decision: ``decision`` publicar | rechazar (a quick or a typed reason) | tema."""
    form = await form_of(request)
    decision = {"publicar": "publish", "rechazar": "reject", "tema": "reassign"}.get(
        str(form.get("decision", ""))
    )
    if decision is None:
        raise web.HTTPBadRequest()
    params: dict[str, Any] = {}
    if decision == "reject":
        params = _reason(request, str(form.get("motivo", "")), str(form.get("otro", "")))
    elif decision == "reassign":
        params = {"topic": str(form.get("tema", ""))[:80]}
    folio = ""
    try:
        async with request.app[DATABASE].transaction() as session:
            record = await moderation.decide(
                session,
                consultation=request.app[CONSULTATION],
                proposal_id=int(request.match_info["proposal"]),
                decision=decision,
                staff_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
                now=utcnow(),
                **params,
            )
            folio = record.folio or ""
    except AlreadyModerated as exc:
        return back(request, "panel_moderation", "ya_revisada", folio=str(exc.params.get("folio")))
    except NotFound:
        return back(request, "panel_moderation", "ya_revisada")
    except NotAllowed:
        return back(request, "panel_moderation", "sin_permiso")
    except DomainError:
        notice = "motivo_invalido" if decision == "reject" else "tema_invalido"
        return back(request, "panel_moderation", notice)
    log.info("panel moderation", extra={"staff": who.user_id, "decision": decision})
    wake_notifications(request)
    notice = {"publish": "publicada", "reject": "rechazada", "reassign": "reasignada"}[decision]
    return back(request, "panel_moderation", notice, folio=folio)


def _reason(request: web.Request, quick: str, typed: str) -> dict[str, Any]:
    """A typed reason wins over a quick one; a quick one is stored in Spanish, told in the
    author's language (as the bot does)."""
    if typed.strip() or quick not in moderation.QUICK_REASONS:
        return {"reason": typed}
    key = moderation.quick_reason(quick)
    return {"reason": request.app[CATALOGS].text("es", key), "reason_key": key}
