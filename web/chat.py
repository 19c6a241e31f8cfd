"""The browser chat at ``/participa``: the same conversation as Telegram, for the web.

The citizen's browser holds a random session token in a cookie; the database only
sees a keyed hash of it (``external_id``), so a copy of the database cannot be used
to take over a chat. Each message is one JSON request; the replies come back in the
response and the page renders them with ``textContent`` (never as HTML).

Every step's replies are kept in the outbox with an id (``id`` in the answer): after
a reload the page asks for those after the last it showed
(``GET /participa/mensajes?desde=<id>``). A step that fails on a passing database
fault is tried again for ``STEP_PATIENCE_SECONDS``; then the answer is a 503 that
asks to send the message again (nothing the citizen confirmed is lost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import asdict
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import utcnow
from pmd_domain.conversation import Conversation
from pmd_domain.conversation.types import Inbound, Outcome, Reply
from pmd_domain.db.faults import is_transient
from pmd_domain.services import outbox
from web.keys import CATALOGS, CONSULTATION, DATABASE, RENDERER, SETTINGS
from web.links import RouterLinks
from web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "pmd_chat"
MAX_BODY_TEXT = 10_000
STEP_PATIENCE_SECONDS = 20.0  # a browser waits for its answer; a proxy may not wait longer
MAX_CURSOR_DIGITS = 18
routes = web.RouteTableDef()
CONVERSATION = web.AppKey("web_conversation", Conversation)
LIMITER = web.AppKey("web_chat_limiter", RateLimiter)


def setup(app: web.Application) -> None:
    """Add the browser chat to ``app`` (its routes and its conversation engine)."""
    app[CONVERSATION] = Conversation(
        consultation=app[CONSULTATION],
        catalogs=app[CATALOGS],
        links=RouterLinks(app.router, app[SETTINGS].public_url),
        executor=app[RENDERER].executor,
    )
    # a person types and taps: bursts of 20 inputs, 2 per second sustained, per browser
    app[LIMITER] = RateLimiter(rate=2, per=1, burst=20)
    app.router.add_routes(routes)


def external_id(secret_key: str, token: str) -> str:
    """The stored identity of a browser session: a keyed hash of its cookie token."""
    digest = hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
    return digest[:48]


def _token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return (
        token
        if 20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
        else None
    )


@routes.get("/participa", name="webchat")
async def page(request: web.Request) -> web.Response:
    """The chat page; gives the browser a session cookie the first time."""
    response = aiohttp_jinja2.render_template("webchat.html", request, {})
    if _token(request) is None:
        settings = request.app[SETTINGS]
        response.set_cookie(
            COOKIE,
            secrets.token_urlsafe(32),
            max_age=60 * 60 * 24 * 180,
            httponly=True,
            samesite="Strict",
            secure=settings.public_url.startswith("https://"),
            path="/participa",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


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
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            name, _, args = stripped[1:].partition(" ")
            if name.lower() == "start":
                return Inbound(kind="start", text=args.strip(), update_id=update_id)
            return Inbound(kind="command", command=name.lower(), text=args, update_id=update_id)
        return Inbound(kind="text", text=text, update_id=update_id)
    return None


def _render(reply: Reply) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[asdict(button) for button in row] for row in reply.buttons],
    }
    if reply.notice:
        rendered["notice"] = reply.notice
    if reply.document is not None:
        rendered["document"] = {
            "filename": reply.document.filename,
            "mime": reply.document.mime,
            "caption": reply.document.caption,
            "base64": base64.b64encode(reply.document.content).decode("ascii"),
        }
    return rendered


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"
    return (
        origin == f"{request.scheme}://{request.host}" or origin == request.app[SETTINGS].public_url
    )


@routes.post("/participa/mensajes", name="webchat_send")
async def send(request: web.Request) -> web.Response:
    """One citizen input in, the conversation's replies out (JSON)."""
    token = _token(request)
    if token is None or not _same_origin(request):
        return web.json_response({"error": "Recarga la página para continuar."}, status=403)
    if request.app[LIMITER].take(token):
        return web.json_response(
            {"error": "Vas muy rápido. Espera unos segundos y vuelve a intentarlo."}, status=429
        )
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    inbound = _inbound(payload)
    if inbound is None:
        return web.json_response({"error": "No entendimos ese mensaje."}, status=400)
    app = request.app
    chat = external_id(app[SETTINGS].secret_key, token)

    async def step(session: AsyncSession) -> Outcome:
        return await app[CONVERSATION].handle(
            session, channel=CHANNEL, external_id=chat, inbound=inbound, now=utcnow()
        )

    try:
        outcome = await app[DATABASE].write(step, patience=STEP_PATIENCE_SECONDS)
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
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.get("/participa/mensajes", name="webchat_since")
async def since(request: web.Request) -> web.Response:
    """The replies of this browser's steps after ``desde`` (a step id), oldest first."""
    token = _token(request)
    if token is None or not _same_origin(request):
        return web.json_response({"error": "Recarga la página para continuar."}, status=403)
    cursor = request.query.get("desde", "")
    if not (cursor.isdigit() and len(cursor) <= MAX_CURSOR_DIGITS):
        text = request.app[CATALOGS].text("es", "webchat.bad_cursor")
        return web.json_response({"error": text}, status=400)
    app = request.app
    async with app[DATABASE].reading() as session:
        steps = await outbox.since(
            session,
            channel=CHANNEL,
            external_id=external_id(app[SETTINGS].secret_key, token),
            after=int(cursor),
        )
    return web.json_response(
        {"steps": [{"id": s.id, "replies": [_render(r) for r in s.replies]} for s in steps]},
        headers={"Cache-Control": "no-store"},
    )
