"""Staff sessions: a signed cookie, a CSRF token bound to it, the role checked on each request.

The cookie holds ``user_id.role.expiry.signature`` (HMAC-SHA256 with PMD_SECRET_KEY).
It proves who logged in and until when; what they may do is read from the database
on every request, so removing a staff member takes their access away at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from pmd_domain.clock import utcnow
from pmd_domain.services import staff
from web.keys import DATABASE, SETTINGS

log = logging.getLogger(__name__)

COOKIE = "pmd_staff"
COOKIE_PATH = "/panel"
SESSION_SECONDS = 8 * 60 * 60
ANALYSE = "analyse"


@dataclass(frozen=True)
class Staff:
    """The staff member behind a request."""

    user_id: int
    role: str
    csrf: str

    @property
    def may_analyse(self) -> bool:
        """Admins and analysts may change the analysis; moderators only look."""
        return staff.may(self.role, ANALYSE)


def _sign(secret: str, purpose: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}|{payload}".encode(), hashlib.sha256).hexdigest()


def session_value(secret: str, *, user_id: int, role: str, expires: int) -> str:
    """The cookie value of a session."""
    payload = f"{user_id}.{role}.{expires}"
    return f"{payload}.{_sign(secret, 'panel-session', payload)}"


def read_session(secret: str, value: str, *, now: int) -> tuple[int, str] | None:
    """``(user_id, role)`` of a genuine, unexpired cookie value; None otherwise."""
    parts = value.split(".")
    if len(parts) != 4 or len(value) > 200:
        return None
    user_id, role, expires, signature = parts
    expected = _sign(secret, "panel-session", f"{user_id}.{role}.{expires}")
    if not hmac.compare_digest(signature, expected):
        return None
    if not (expires.isdigit() and int(expires) > now and user_id.lstrip("-").isdigit()):
        return None
    return int(user_id), role


def csrf_token(secret: str, cookie: str) -> str:
    """The form token bound to one session cookie."""
    return _sign(secret, "panel-csrf", cookie)


def start(response: web.StreamResponse, request: web.Request, *, user_id: int, role: str) -> None:
    """Give the browser a session cookie."""
    settings = request.app[SETTINGS]
    expires = int(utcnow().timestamp()) + SESSION_SECONDS
    response.set_cookie(
        COOKIE,
        session_value(settings.secret_key, user_id=user_id, role=role, expires=expires),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
    )


def end(response: web.StreamResponse) -> None:
    """Remove the session cookie."""
    response.del_cookie(COOKIE, path=COOKIE_PATH)


async def current(request: web.Request) -> Staff | None:
    """The staff member of this request, with the role the database gives them now."""
    settings = request.app[SETTINGS]
    cookie = request.cookies.get(COOKIE, "")
    found = read_session(settings.secret_key, cookie, now=int(utcnow().timestamp()))
    if found is None:
        return None
    async with request.app[DATABASE].reading() as session:
        role = await staff.role_of(session, user_id=found[0], admin_ids=settings.admin_ids)
    if role is None:
        return None
    return Staff(user_id=found[0], role=role, csrf=csrf_token(settings.secret_key, cookie))


def page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> Any:
    """Render a panel page; never cached, never indexed."""
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def message(request: web.Request, title: str, text: str, status: int) -> web.Response:
    """A short page with a message (no data)."""
    result: web.Response = page(
        request, "panel/message.html", {"title": title, "text": text}, status
    )
    return result


def redirect(location: str) -> web.Response:
    """A 303 to ``location`` (after a login or a form)."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


View = Callable[[web.Request, Staff], Awaitable[web.StreamResponse]]


def staff_only(*, permission: str | None = None) -> Callable[[View], Any]:
    """Wrap a view: a valid session, the CSRF token on POST, and ``permission`` if given."""

    def wrap(view: View) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(view)
        async def inner(request: web.Request) -> web.StreamResponse:
            who = await current(request)
            if who is None:
                return message(
                    request,
                    "Necesitas entrar con un enlace",
                    "Para entrar al panel pide un enlace con /panel en el bot.",
                    403,
                )
            if request.method == "POST":
                form = await request.post()
                sent = form.get("csrf")
                if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf):
                    return message(
                        request,
                        "El formulario caducó",
                        "Vuelve a cargar la página e inténtalo otra vez.",
                        403,
                    )
            if permission is not None and not staff.may(who.role, permission):
                log.info("panel action refused", extra={"staff": who.user_id, "role": who.role})
                return message(
                    request,
                    "Sin permiso",
                    "Tu rol puede consultar las propuestas, pero no cambiar su análisis.",
                    403,
                )
            return await view(request, who)

        return inner

    return wrap


async def form_of(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form (already read by ``staff_only``; aiohttp caches it)."""
    return await request.post()
