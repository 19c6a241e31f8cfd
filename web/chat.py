"""The browser chat at ``/participa``: the same conversation as Telegram, for the web.

The citizen's browser holds a session token in a cookie we sign (``web/identity.py``);
the database only sees a keyed hash of it (``external_id``), so a copy of the
database cannot be used to take over a chat, and a value we did not issue is a
stranger. Each message is one JSON request; the replies come back in the
response and the page renders them with ``textContent`` (never as HTML).

Every step's replies are kept in the outbox with an id (``id`` in the answer): after
a reload the page asks for those after the last it showed
(``GET /participa/mensajes?desde=<id>``). A step that fails on a passing database
fault is tried again for ``STEP_PATIENCE_SECONDS``; then the answer is a 503 that
asks to send the message again (nothing the citizen confirmed is lost).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict, replace
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clients import Client
from pmd_domain.clock import utcnow
from pmd_domain.conversation.typed import inbound_of_text
from pmd_domain.conversation.types import Inbound, Outcome, Reply
from pmd_domain.db.faults import is_transient
from pmd_domain.digits import number
from pmd_domain.services import outbox
from web import i18n, identity
from web.clients import address_key
from web.keys import CATALOGS, CONSULTATION, CONVERSATION, DATABASE, SETTINGS
from web.links import route_url
from web.metrics import timed_step
from web.ratelimit import RateLimiter
from web.requests import read_json

log = logging.getLogger(__name__)

CHANNEL = identity.CHANNEL
MAX_BODY_TEXT = 10_000
STEP_PATIENCE_SECONDS = 20.0  # a browser waits for its answer; a proxy may not wait longer
MAX_CURSOR_DIGITS = 18
routes = web.RouteTableDef()
LIMITER = web.AppKey("web_chat_limiter", RateLimiter)


def setup(app: web.Application) -> None:
    """Add the browser chat to ``app`` (its routes; the conversation is ``create_app``'s)."""
    # a person types and taps: bursts of 20 inputs, 2 per second sustained, per browser
    app[LIMITER] = RateLimiter(rate=2, per=1, burst=20)
    app.router.add_routes(routes)
    app.router.add_routes(identity.routes)


# The page script's texts (web/static/webchat.js reads them from the form's data-texts).
SCRIPT_TEXTS = {
    "you": "webchat.you",
    "bot": "webchat.bot",
    "download": "webchat.download",
    "counter": "webchat.counter",
    "tooLong": "webchat.too_long",
    "sending": "webchat.sending",
    "offline": "webchat.offline",
    "failed": "webchat.failed",
    "newTab": "webchat.opens_new_tab",
}


@routes.get("/participa", name="webchat")
async def page(request: web.Request) -> web.Response:
    """The chat page; gives the browser a session cookie the first time."""
    catalogs = request.app[CATALOGS]
    lang = chat_language(request)
    # the script fills in {n}, {max} and {filename}: the placeholders stay as they are
    raw = {"n": "{n}", "max": "{max}", "filename": "{filename}"}
    texts = i18n.script_texts(catalogs, lang, SCRIPT_TEXTS, **raw)
    limit = request.app[CONSULTATION].limits.text_max_chars
    response = aiohttp_jinja2.render_template(
        "webchat.html", request, {"texts": texts, "limit": limit, "lang": lang}
    )
    identity.fresh(response, request)
    response.headers["Cache-Control"] = "no-store"
    return response


def chat_language(request: web.Request) -> str:
    """The browser's language among the exercise's (as Telegram's ``language_code``).

    A person already registered keeps the language stored with them (the engine's rule).
    """
    exercise = request.app[CONSULTATION].exercise
    found = i18n.language(request)
    return found if found in exercise.languages else exercise.default_language


def chat_url(public_url: str) -> str:
    """The browser chat's absolute address (printed on code cards)."""
    return route_url(routes, public_url, "webchat")


def _inbound(payload: Any) -> Inbound | None:
    if not isinstance(payload, dict):
        return None
    kind = payload.get("kind")
    text = payload.get("text", "")
    data = payload.get("data", "")
    message_id = payload.get("id")
    if not isinstance(text, str) or not isinstance(data, str):
        return None
    update_id = message_id if isinstance(message_id, str) and 0 < len(message_id) <= 64 else None
    text = text[:MAX_BODY_TEXT]
    if kind == "start":
        return Inbound(kind="start", text=text[:64], update_id=update_id)
    if kind == "button" and data:
        return Inbound(kind="button", data=data[:64], update_id=update_id)
    if kind == "text":
        return inbound_of_text(text, update_id=update_id)
    return None


def _render(reply: Reply) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[asdict(button) for button in row] for row in reply.buttons],
    }
    if reply.notice:
        rendered["notice"] = reply.notice
    if reply.limit is not None:
        rendered["limit"] = reply.limit
    if reply.document is not None:
        rendered["document"] = {
            "filename": reply.document.filename,
            "mime": reply.document.mime,
            "caption": reply.document.caption,
            "base64": base64.b64encode(reply.document.content).decode("ascii"),
        }
    return rendered


def _refused(request: web.Request, key: str, status: int) -> web.Response:
    text = request.app[CATALOGS].text(chat_language(request), key)
    return web.json_response({"error": text}, status=status)


@routes.post("/participa/mensajes", name="webchat_send")
@timed_step(CHANNEL)
async def send(request: web.Request) -> web.Response:
    """One citizen input in, the conversation's replies out (JSON)."""
    if not identity.has_cookie(request) or not identity.same_origin(request):
        return _refused(request, "webchat.reload", 403)
    if request.app[LIMITER].take(request.cookies.get(identity.COOKIE, "")):
        return _refused(request, "webchat.too_fast", 429)
    try:
        payload = await read_json(request)
    except ValueError:
        payload = None
    inbound = _inbound(payload)
    if inbound is None:
        return _refused(request, "webchat.not_understood", 400)
    inbound = replace(inbound, language_hint=chat_language(request))
    app = request.app
    secret = app[SETTINGS].secret_key

    async def step(session: AsyncSession) -> tuple[identity.Session, Outcome]:
        who = await identity.session_of(request, session)
        client = Client(
            address=address_key(secret, request.remote),
            kiosk=await identity.kiosk_of(request, session),
        )
        outcome = await app[CONVERSATION].handle(
            session,
            channel=CHANNEL,
            external_id=who.external_id(secret),
            inbound=inbound,
            now=utcnow(),
            client=client,
        )
        if outcome.registered is not None:  # consent: a new token, in the same transaction
            who = await identity.rotate(request, session, participant_id=outcome.registered)
        return who, outcome

    try:
        who, outcome = await app[DATABASE].write(step, patience=STEP_PATIENCE_SECONDS)
    except Exception as error:
        if not is_transient(error):
            raise
        text = app[CATALOGS].text("es", "webchat.retry_later")
        return web.json_response({"error": text}, status=503, headers={"Retry-After": "5"})
    body: dict[str, Any] = {
        "replies": [_render(r) for r in outcome.replies],
        "duplicate": outcome.duplicate,
        "id": outcome.outgoing.id if outcome.outgoing is not None else None,
    }
    response = web.json_response(body, headers={"Cache-Control": "no-store"})
    identity.give(response, request, who)
    return response


@routes.get("/participa/mensajes", name="webchat_since")
async def since(request: web.Request) -> web.Response:
    """The replies of this browser's steps after ``desde`` (a step id), oldest first."""
    app = request.app
    secret = app[SETTINGS].secret_key
    token = identity.signed_token(secret, request.cookies.get(identity.COOKIE))
    if token is None or not identity.same_origin(request):
        return _refused(request, "webchat.reload", 403)
    cursor = number(request.query.get("desde", ""), most=MAX_CURSOR_DIGITS)
    if cursor is None:
        text = app[CATALOGS].text("es", "webchat.bad_cursor")
        return web.json_response({"error": text}, status=400)
    async with app[DATABASE].reading() as session:
        steps = await outbox.since(
            session,
            channel=CHANNEL,
            external_id=identity.external_id(secret, token),
            after=cursor,
        )
    return web.json_response(
        {"steps": [{"id": s.id, "replies": [_render(r) for r in s.replies]} for s in steps]},
        headers={"Cache-Control": "no-store"},
    )
