"""The staff pages: the list of proposals and one proposal with its analysis forms."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal
from pmd_domain.digits import number
from pmd_domain.errors import DomainError, NotFound
from pmd_domain.services import analysis, proposals
from web.keys import CONSULTATION, DATABASE
from web.panel.session import ANALYSE, Staff, form_of, page, panel_text, redirect, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PER_PAGE = 50
STATUSES = analysis.STATUSES
OUTCOMES = ("incluida", "considerada", "no_procede", analysis.NO_OUTCOME)
SORTS = ("supports", "recent", "oldest")
# Messages after a form, by a fixed key (never echoing what was typed): panel.analysis.<key>.
NOTICES = (
    "acciones",
    "duplicado",
    "sin_duplicado",
    "resultado",
    "folio_desconocido",
    "duplicado_invalido",
    "accion_invalida",
    "resultado_invalido",
    "nota_larga",
)


def _filters(query: Any, consultation: Consultation) -> analysis.Filters:
    pillar, _, topic = str(query.get("tema", "")).partition(".")
    chosen_pillar = str(query.get("eje", "")) or pillar
    spec = consultation.pillar(chosen_pillar)
    return analysis.Filters(
        pillar=chosen_pillar if spec else "",
        topic=topic if spec and spec.topic(topic) and pillar == chosen_pillar else "",
        status=str(query.get("estado", "")),
        outcome=str(query.get("resultado", "")),
        text=str(query.get("q", ""))[:200],
        sort=str(query.get("orden", "supports")),
    )


def _page_number(query: Any) -> int:
    page = number(str(query.get("pagina", "1")))
    return min(page, 100_000) if page else 1


def names_of(consultation: Consultation) -> dict[str, str]:
    """Pillar labels by key (numbered) and topic labels by ``pillar.topic`` (Spanish)."""
    return consultation.labels("es", numbered=True)


@routes.get("/panel", name="panel")
@staff_only()
async def listing(request: web.Request, who: Staff) -> web.StreamResponse:
    """Counts by status and outcome, and the filtered, paginated list of proposals."""
    consultation = request.app[CONSULTATION]
    filters = _filters(request.query, consultation)
    number = _page_number(request.query)
    async with request.app[DATABASE].reading() as session:
        rows, total = await analysis.search(
            session, filters=filters, page=number, per_page=PER_PAGE
        )
        figures = await analysis.counts(session)
    kept = {k: v for k, v in request.query.items() if k != "pagina" and v}
    pages = max(1, -(-total // PER_PAGE))
    context = {
        "who": who,
        "rows": rows,
        "total": total,
        "figures": figures,
        "filters": filters,
        "topic_value": f"{filters.pillar}.{filters.topic}" if filters.topic else "",
        "page": number,
        "pages": pages,
        "prev_query": urlencode({**kept, "pagina": number - 1}) if number > 1 else None,
        "next_query": urlencode({**kept, "pagina": number + 1}) if number < pages else None,
        **_labels(request, consultation),
    }
    return page(request, "panel/list.html", context)


def _labels(request: web.Request, consultation: Consultation) -> dict[str, Any]:
    def of(prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
        return {key: panel_text(request, f"panel.{prefix}.{key}") for key in keys}

    return {
        "names": names_of(consultation),
        "status_labels": of("status", STATUSES),
        "outcome_labels": of("outcome", OUTCOMES),
        "sort_labels": of("sort", SORTS),
    }


async def _proposal(request: web.Request) -> Proposal:
    async with request.app[DATABASE].reading() as session:
        return await proposals.by_folio(session, folio=request.match_info["folio"][:24])


@routes.get("/panel/propuestas/{folio}", name="panel_proposal")
@staff_only()
async def detail(request: web.Request, who: Staff) -> web.StreamResponse:
    """One proposal in full, its duplicate group and the analysis forms."""
    consultation = request.app[CONSULTATION]
    try:
        record = await _proposal(request)
    except NotFound:
        raise web.HTTPNotFound() from None
    async with request.app[DATABASE].reading() as session:
        chosen = await analysis.actions_of(session, proposal_id=record.id)
        group = await analysis.group(session, proposal_id=record.id)
    pillar = consultation.pillar(record.pillar)
    context = {
        "who": who,
        "p": record,
        "actions": [
            {"key": a.key, "name": consultation.text(a.name, "es"), "checked": a.key in chosen}
            for a in (pillar.actions if pillar else [])
        ],
        "group": group if group.duplicates else None,
        "notice": _notice(request),
        **_labels(request, consultation),
    }
    return page(request, "panel/proposal.html", context)


def _notice(request: web.Request) -> str | None:
    key = request.query.get("aviso", "")
    return panel_text(request, f"panel.analysis.{key}") if key in NOTICES else None


def _back(request: web.Request, folio: str, notice: str) -> web.Response:
    target = request.app.router["panel_proposal"].url_for(folio=folio)
    return redirect(str(target.with_query(aviso=notice)))


async def _act(request: web.Request, who: Staff, action: str) -> web.StreamResponse:
    try:
        record = await _proposal(request)
    except NotFound:
        raise web.HTTPNotFound() from None
    assert record.folio is not None
    form = await form_of(request)
    try:
        async with request.app[DATABASE].transaction() as session:
            notice = await _apply(request, session, record, action, form)
    except DomainError as exc:
        notice = _problem(action, exc)
    log.info("panel %s", action, extra={"staff": who.user_id, "folio": record.folio})
    return _back(request, record.folio, notice)


async def _apply(
    request: web.Request, session: Any, record: Proposal, action: str, form: Any
) -> str:
    if action == "acciones":
        await analysis.align(
            session,
            consultation=request.app[CONSULTATION],
            proposal_id=record.id,
            actions=[str(v) for v in form.getall("accion", [])],
        )
        return "acciones"
    if action == "duplicado":
        if form.get("quitar"):
            await analysis.clear_duplicate(session, proposal_id=record.id)
            return "sin_duplicado"
        original = await proposals.by_folio(session, folio=str(form.get("original", ""))[:24])
        await analysis.mark_duplicate(session, proposal_id=record.id, original_id=original.id)
        return "duplicado"
    await analysis.record_outcome(
        session,
        proposal_id=record.id,
        outcome=str(form.get("resultado", "")),
        note=str(form.get("nota", "")),
        now=utcnow(),
    )
    return "resultado"


def _problem(action: str, exc: DomainError) -> str:
    code = exc.code
    if code == "error.not_found":
        return "folio_desconocido"
    if code == "error.duplicate_invalid":
        return "duplicado_invalido"
    if code == "error.text_too_long":
        return "nota_larga"
    return {"acciones": "accion_invalida", "resultado": "resultado_invalido"}.get(
        action, "duplicado_invalido"
    )


@routes.post("/panel/propuestas/{folio}/acciones", name="panel_align")
@staff_only(permission=ANALYSE)
async def align(request: web.Request, who: Staff) -> web.StreamResponse:
    """Align the proposal with strategic actions of its pillar."""
    return await _act(request, who, "acciones")


@routes.post("/panel/propuestas/{folio}/duplicado", name="panel_duplicate")
@staff_only(permission=ANALYSE)
async def duplicate(request: web.Request, who: Staff) -> web.StreamResponse:
    """Mark the proposal as a duplicate of another folio, or clear it."""
    return await _act(request, who, "duplicado")


@routes.post("/panel/propuestas/{folio}/resultado", name="panel_outcome")
@staff_only(permission=ANALYSE)
async def outcome(request: web.Request, who: Staff) -> web.StreamResponse:
    """Record the outcome; the author is told by the bot."""
    return await _act(request, who, "resultado")
