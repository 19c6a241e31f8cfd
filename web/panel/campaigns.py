"""Campaigns from the panel (admins): compose → preview → send, then live progress with
pause / resume / cancel.

The form is posted twice: once for the preview (nothing is stored; the audience size
is counted) and once, with the same fields, to send. Sending is ``broadcasts.queue``,
the one function the bot and the CLI call too (role checked again, snapshot of the
recipients, audit record); the running service's sender sends it. The progress page
polls ``/avance.json`` (``static/campaign.js``, same origin) and updates its figures in
place; without JavaScript it offers a link to load it again.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from pmd_domain.clock import utcnow
from pmd_domain.errors import (
    DomainError,
    InvalidAudience,
    InvalidCampaign,
    NotAllowed,
    NotFound,
    WrongCampaignState,
)
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import Audience, CampaignControl, Content
from pmd_domain.statuses import DeliveryStatus
from web.keys import CATALOGS, CONSULTATION, DATABASE, SETTINGS
from web.panel.common import back, notice_key, wake_broadcasts
from web.panel.session import LANGUAGE, Staff, form_of, page, panel_text, redirect, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PERMISSION = "broadcast"
REFRESH_SECONDS = 2  # how often the progress page polls its figures
CHOICE_KINDS = ("pillar", "gender", "age_group", "sector", "source")
CONTROLS = {
    "pausar": CampaignControl.PAUSE,
    "reanudar": CampaignControl.RESUME,
    "cancelar": CampaignControl.CANCEL,
}
NOTICES = ("pause", "resume", "cancel", "estado", "sin_permiso")
CAMPAIGN = r"{campaign:[0-9]{1,18}}"


def _content(form: MultiDictProxy[Any]) -> Content:
    def field(name: str, limit: int) -> str | None:
        return str(form.get(name, "")).strip()[:limit] or None

    return Content(
        text=str(form.get("texto", "")).replace("\r\n", "\n")[: broadcasts.MAX_TEXT + 1],
        photo=field("imagen", 500),
        button_text=field("boton", broadcasts.MAX_BUTTON_TEXT + 1),
        button_url=field("enlace", 500),
    )


def _check(request: web.Request, content: Content, spec: str) -> Audience:
    """The audience of the form; InvalidCampaign / InvalidAudience when it cannot be sent."""
    if content.photo is not None and not content.photo.startswith("https://"):
        raise InvalidCampaign(problem="photo")
    broadcasts.check_content(
        text=content.text,
        photo=content.photo,
        button_text=content.button_text,
        button_url=content.button_url,
    )
    return broadcasts.parse_audience(spec[:100], consultation=request.app[CONSULTATION])


async def _audiences(request: web.Request, lang: str) -> list[tuple[str, str]]:
    """Every audience the form offers, ``(spec, label)``."""
    catalogs, consultation = request.app[CATALOGS], request.app[CONSULTATION]
    specs = [Audience("all")]
    for kind in CHOICE_KINDS:
        if kind == "source":
            async with request.app[DATABASE].reading() as session:
                values = await broadcasts.sources(session)
        else:
            values = [value for value, _ in broadcasts.options_of(consultation, kind, lang)]
        specs += [Audience(kind, value) for value in values]
    specs.append(Audience("unfinished"))
    return [(a.spec, broadcasts.describe(catalogs, consultation, a, lang)) for a in specs]


async def _compose(
    request: web.Request,
    who: Staff,
    *,
    content: Content | None = None,
    spec: str = "all",
    problem: str | None = None,
    status: int = 200,
) -> web.StreamResponse:
    lang = LANGUAGE
    async with request.app[DATABASE].reading() as session:
        recent = await broadcasts.recent(session, limit=10)
    context: dict[str, Any] = {
        "who": who,
        "lang": lang,
        "content": content or Content(text=""),
        "spec": spec,
        "audiences": await _audiences(request, lang),
        "problem": problem,
        "recent": recent,
        "max_text": broadcasts.MAX_TEXT,
    }
    return page(request, "panel/campaigns.html", context, status)


@routes.get("/panel/difusiones", name="panel_campaigns")
@staff_only(permission=PERMISSION)
async def compose(request: web.Request, who: Staff) -> web.StreamResponse:
    """The compose form and the latest campaigns."""
    return await _compose(request, who)


def _problem(request: web.Request, exc: DomainError) -> str:
    """What is wrong with the form, in the reader's words (the bot's catalogue texts)."""
    if isinstance(exc, InvalidAudience):
        return panel_text(request, "panel.campaign.bad_audience")
    problem = str(exc.params.get("problem", "empty"))
    return panel_text(request, f"broadcast.error.{problem}", **exc.params)


@routes.post("/panel/difusiones/vista-previa", name="panel_campaign_preview")
@staff_only(permission=PERMISSION)
async def preview(request: web.Request, who: Staff) -> web.StreamResponse:
    """The message as citizens will receive it and how many will; nothing stored yet."""
    form = await form_of(request)
    content, spec = _content(form), str(form.get("audiencia", "all"))
    try:
        audience = _check(request, content, spec)
    except (InvalidCampaign, InvalidAudience) as exc:
        return await _compose(
            request, who, content=content, spec=spec, problem=_problem(request, exc), status=422
        )
    async with request.app[DATABASE].reading() as session:
        size = await broadcasts.count_audience(session, audience=audience)
    lang = LANGUAGE
    context = {
        "who": who,
        "lang": lang,
        "content": content,
        "spec": audience.spec,
        "audience": broadcasts.describe(
            request.app[CATALOGS], request.app[CONSULTATION], audience, lang
        ),
        "size": size,
    }
    return page(request, "panel/campaign_preview.html", context)


@routes.post("/panel/difusiones/enviar", name="panel_campaign_send")
@staff_only(permission=PERMISSION)
async def send(request: web.Request, who: Staff) -> web.StreamResponse:
    """Queue the campaign previewed; its progress page follows."""
    form = await form_of(request)
    content, spec = _content(form), str(form.get("audiencia", "all"))
    try:
        audience = _check(request, content, spec)
        async with request.app[DATABASE].transaction(bulk=True) as session:
            queued = await broadcasts.queue(
                session,
                consultation=request.app[CONSULTATION],
                content=content,
                audience=audience,
                now=utcnow(),
                staff_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
            )
            campaign_id = queued.campaign.id
    except (InvalidCampaign, InvalidAudience) as exc:
        return await _compose(
            request, who, content=content, spec=spec, problem=_problem(request, exc), status=422
        )
    except NotAllowed:
        return back(request, "panel_campaigns", "sin_permiso")
    log.info("panel campaign queued", extra={"staff": who.user_id, "campaign": campaign_id})
    wake_broadcasts(request)
    target = request.app.router["panel_campaign"].url_for(campaign=str(campaign_id))
    return redirect(str(target))


async def _progress(request: web.Request) -> tuple[int, broadcasts.Progress]:
    campaign_id = int(request.match_info["campaign"])
    try:
        async with request.app[DATABASE].reading() as session:
            return campaign_id, await broadcasts.progress(session, campaign_id=campaign_id)
    except NotFound:
        raise web.HTTPNotFound() from None


def _figures(progress: broadcasts.Progress) -> dict[str, Any]:
    return {
        "status": progress.status,
        "total": progress.total,
        "done": progress.done,
        **{
            key: progress[key]
            for key in (DeliveryStatus.PENDING, DeliveryStatus.SENDING, *broadcasts.FINAL)
        },
    }


@routes.get(f"/panel/difusiones/{CAMPAIGN}", name="panel_campaign")
@staff_only(permission=PERMISSION)
async def status(request: web.Request, who: Staff) -> web.StreamResponse:
    """Live progress (the page polls its figures while the campaign can still change)."""
    campaign_id, progress = await _progress(request)
    async with request.app[DATABASE].reading() as session:
        campaign = await broadcasts.get(session, campaign_id=campaign_id)
    lang = LANGUAGE
    context = {
        "who": who,
        "lang": lang,
        "campaign": campaign,
        "figures": _figures(progress),
        "audience": broadcasts.describe(
            request.app[CATALOGS],
            request.app[CONSULTATION],
            broadcasts.audience_from_json(campaign.audience),
            lang,
        ),
        "live": progress.status in broadcasts.DUE,
        "refresh": REFRESH_SECONDS,
        "notice": notice_key(request, NOTICES),
    }
    return page(request, "panel/campaign.html", context)


@routes.get(f"/panel/difusiones/{CAMPAIGN}/avance.json", name="panel_campaign_json")
@staff_only(permission=PERMISSION)
async def status_json(request: web.Request, who: Staff) -> web.StreamResponse:
    """The same figures for polling."""
    campaign_id, progress = await _progress(request)
    response = web.json_response({"id": campaign_id, **_figures(progress)})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post(f"/panel/difusiones/{CAMPAIGN}/{{action}}", name="panel_campaign_control")
@staff_only(permission=PERMISSION)
async def control(request: web.Request, who: Staff) -> web.StreamResponse:
    """Pausar, Reanudar or Cancelar."""
    action = CONTROLS.get(request.match_info["action"])
    if action is None:
        raise web.HTTPNotFound()
    campaign_id = int(request.match_info["campaign"])
    notice: str = action
    try:
        async with request.app[DATABASE].transaction() as session:
            await broadcasts.control(
                session,
                campaign_id=campaign_id,
                action=action,
                now=utcnow(),
                staff_id=who.user_id,
                admin_ids=request.app[SETTINGS].admin_ids,
            )
    except NotFound:
        raise web.HTTPNotFound() from None
    except WrongCampaignState:
        notice = "estado"
    except NotAllowed:
        notice = "sin_permiso"
    if action == CampaignControl.RESUME:
        wake_broadcasts(request)
    target = request.app.router["panel_campaign"].url_for(campaign=str(campaign_id))
    return redirect(str(target.with_query(aviso=notice)))
