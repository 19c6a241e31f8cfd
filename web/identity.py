"""Who is on the other end of the browser chat: a session cookie issued and signed by us.

The ``pmd_chat`` cookie holds a random token and its signature (itsdangerous, keyed
with ``PMD_SECRET_KEY``). The database never sees the token: a participant's
``external_id`` is a keyed hash of it. A value we did not sign is a stranger: the
request goes on with a fresh token (and a new cookie), never as somebody's
participant. The token changes at consent, in the consent step's transaction, so a
value planted in a browser before (a shared computer, a kiosk) is worth nothing
after. A cookie from before signing (a bare token) keeps working only when its
participant exists, and is signed from then on.

``pmd_kiosk`` marks a browser that staff enrolled as a kiosk (``/panel/integridad``);
it is checked against the ``kiosks`` table on every message, so withdrawing a kiosk
takes effect at once.

``POST /participa/olvidar`` ("Salir / olvidar este navegador") clears the chat cookie
(and the browser's link to a Telegram participant): the next person at that computer
starts afresh, and what the citizen sent stays stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from itsdangerous import BadSignature, Signer
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import LinkedIdentity, Participant
from pmd_domain.services import kiosks, outbox, participants
from web.keys import CATALOGS, DATABASE, SETTINGS

COOKIE = "pmd_chat"
KIOSK_COOKIE = "pmd_kiosk"
PATH = "/participa"
MAX_AGE = 60 * 60 * 24 * 180
KIOSK_MAX_AGE = 60 * 60 * 24 * 366
CHANNEL = "web"
# Before signing, the page gave secrets.token_urlsafe(32): always 43 characters. Tokens
# since are 32, so a bare token of today's is never taken for one of those.
_LEGACY_CHARS = 43
routes = web.RouteTableDef()


def external_id(secret_key: str, token: str) -> str:
    """The stored identity of a browser session: a keyed hash of its cookie token."""
    digest = hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
    return digest[:48]


def _signer(secret_key: str, purpose: str) -> Signer:
    return Signer(secret_key, salt=f"pmd-{purpose}")


def new_token() -> str:
    """A fresh session token (192 random bits)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Session:
    """The token a request acts with, and whether the response must set the cookie."""

    token: str
    renew: bool = False

    def external_id(self, secret_key: str) -> str:
        """The participant identity this session stands for."""
        return external_id(secret_key, self.token)


def signed_token(secret_key: str, value: str | None) -> str | None:
    """The token of a cookie value we signed, or None."""
    if not value or "." not in value or len(value) > 200:
        return None
    try:
        return _signer(secret_key, "chat").unsign(value).decode()
    except BadSignature:
        return None


def _legacy(value: str | None) -> str | None:
    """A bare token as cookies held before they were signed (checked against the database)."""
    if value and len(value) == _LEGACY_CHARS and value.replace("-", "").replace("_", "").isalnum():
        return value
    return None


def has_cookie(request: web.Request) -> bool:
    """Whether the browser sent a chat cookie at all (the page gives one)."""
    return bool(request.cookies.get(COOKIE))


async def session_of(request: web.Request, db: AsyncSession) -> Session:
    """The session of this request: its signed token, or a fresh one for a stranger."""
    secret = request.app[SETTINGS].secret_key
    value = request.cookies.get(COOKIE)
    token = signed_token(secret, value)
    if token is not None:
        return Session(token)
    legacy = _legacy(value)
    if legacy is not None and (
        await participants.find(db, channel=CHANNEL, external_id=external_id(secret, legacy))
        is not None
    ):
        return Session(legacy, renew=True)  # issued by us before signing: sign it now
    return Session(new_token(), renew=True)


async def rotate(request: web.Request, db: AsyncSession, *, participant_id: int) -> Session:
    """A new token for a participant who just consented, in the consent's transaction."""
    session = Session(new_token(), renew=True)
    new = session.external_id(request.app[SETTINGS].secret_key)
    old = await db.scalar(
        select(Participant.external_id).where(
            Participant.id == participant_id, Participant.channel == CHANNEL
        )
    )
    await db.execute(
        update(Participant)
        .where(Participant.id == participant_id, Participant.channel == CHANNEL)
        .values(external_id=new)
        .execution_options(synchronize_session=False)
    )
    if old is not None:  # the consent step's replies, fetched again after a reload
        await outbox.move_chat(db, channel=CHANNEL, old=old, new=new)
    return session


def give(response: web.StreamResponse, request: web.Request, session: Session) -> None:
    """Set the session cookie on ``response`` when it changed."""
    if not session.renew:
        return
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE,
        _signer(settings.secret_key, "chat").sign(session.token).decode(),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
        path=PATH,
    )


def fresh(response: web.StreamResponse, request: web.Request) -> None:
    """Give a browser without a cookie of ours a new session (the chat page does)."""
    secret = request.app[SETTINGS].secret_key
    value = request.cookies.get(COOKIE)
    if signed_token(secret, value) is None and _legacy(value) is None:
        give(response, request, Session(new_token(), renew=True))


async def kiosk_of(request: web.Request, db: AsyncSession) -> bool:
    """Whether this browser is an enrolled kiosk that staff have not withdrawn."""
    secret = request.app[SETTINGS].secret_key
    value = request.cookies.get(KIOSK_COOKIE)
    if not value or len(value) > 200:
        return False
    try:
        token = _signer(secret, "kiosk").unsign(value).decode()
    except BadSignature:
        return False
    return await kiosks.active(db, secret=secret, token=token) is not None


def enroll_browser(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Mark the staff member's browser as the kiosk whose token is ``token``."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        KIOSK_COOKIE,
        _signer(settings.secret_key, "kiosk").sign(token).decode(),
        max_age=KIOSK_MAX_AGE,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
        path=PATH,
    )


def same_origin(request: web.Request) -> bool:
    """Whether a state-changing request comes from our own pages."""
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"
    return (
        origin == f"{request.scheme}://{request.host}" or origin == request.app[SETTINGS].public_url
    )


@routes.post("/participa/olvidar", name="webchat_forget")
async def forget(request: web.Request) -> web.StreamResponse:
    """Salir / olvidar este navegador: the cookie goes, the next visitor starts afresh."""
    if not same_origin(request):
        text = request.app[CATALOGS].text("es", "webchat.other_origin")
        return web.Response(status=403, text=text, headers={"Cache-Control": "no-store"})
    secret = request.app[SETTINGS].secret_key
    token = signed_token(secret, request.cookies.get(COOKIE))
    if token is not None:
        async with request.app[DATABASE].transaction() as db:
            await db.execute(
                delete(LinkedIdentity).where(
                    LinkedIdentity.channel == CHANNEL,
                    LinkedIdentity.external_id == external_id(secret, token),
                )
            )
    response = web.Response(
        status=303,
        headers={
            "Location": str(request.app.router["webchat"].url_for()),
            "Cache-Control": "no-store",
        },
    )
    response.del_cookie(COOKIE, path=PATH)
    return response
