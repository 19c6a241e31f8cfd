"""Staff sessions held on the server, a CSRF token bound to each, the role checked per request.

The cookie holds a random session id; the ``staff_sessions`` table keeps only its
SHA-256 (``pmd_domain.services.staff_sessions``). Every request looks the session up
and reads the member's role now: logging out, a removal or a role change ends every
open session of theirs at once. The form token is an HMAC of the session id with
PMD_SECRET_KEY, checked on every POST. Texts come from the catalogues (``panel.po``).
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
from pmd_domain.i18n import DEFAULT_LANGUAGE
from pmd_domain.services import staff, staff_sessions
from web.keys import CATALOGS, DATABASE, SETTINGS
from web.requests import UnreadableBody, read_form

log = logging.getLogger(__name__)

COOKIE = "pmd_staff"
COOKIE_PATH = "/panel"
SESSION_SECONDS = int(staff_sessions.SESSION_TTL.total_seconds())
ANALYSE = "analyse"
# The panel is written in one language as a whole (its older pages are not all in the
# catalogues yet, and a half-translated page is worse than a Spanish one).
LANGUAGE = DEFAULT_LANGUAGE


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

    def may(self, permission: str) -> bool:
        """Whether this member's role grants ``permission`` (what the pages offer)."""
        return staff.may(self.role, permission)


def csrf_token(secret: str, cookie: str) -> str:
    """The form token bound to one session cookie."""
    digest = hmac.new(secret.encode(), f"panel-csrf|{cookie}".encode(), hashlib.sha256)
    return digest.hexdigest()


def start(response: web.StreamResponse, request: web.Request, *, value: str) -> None:
    """Give the browser the cookie of a session just opened (``staff_sessions.open_session``)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE,
        value,
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
    """The staff member of this request's open session, with the role they have now."""
    settings = request.app[SETTINGS]
    cookie = request.cookies.get(COOKIE, "")
    if not cookie:
        return None
    async with request.app[DATABASE].reading() as session:
        found = await staff_sessions.find(
            session, value=cookie, now=utcnow(), admin_ids=settings.admin_ids
        )
    if found is None:
        return None
    return Staff(
        user_id=found.user_id, role=found.role, csrf=csrf_token(settings.secret_key, cookie)
    )


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


FORM = web.RequestKey("pmd_panel_form", MultiDictProxy)  # the form, as staff_only read it

View = Callable[[web.Request, Staff], Awaitable[web.StreamResponse]]


def panel_text(request: web.Request, key: str, **params: object) -> str:
    """A catalogue text in the panel's language (messages, notices)."""
    return request.app[CATALOGS].text(LANGUAGE, key, **params)


def refused(request: web.Request, what: str, status: int = 403) -> web.Response:
    """A short page from the catalogue: ``panel.<what>.title`` and ``panel.<what>.text``."""
    return message(
        request,
        panel_text(request, f"panel.{what}.title"),
        panel_text(request, f"panel.{what}.text"),
        status,
    )


def staff_only(*, permission: str | None = None) -> Callable[[View], Any]:
    """Wrap a view: an open session, the CSRF token on POST, and ``permission`` if given.

    The role check here is the server's: a page that hides a button is only a courtesy,
    a POST by a role without the permission is refused before the view runs (and each
    service checks the role again inside its own transaction).
    """

    def wrap(view: View) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(view)
        async def inner(request: web.Request) -> web.StreamResponse:
            who = await current(request)
            if who is None:
                return refused(request, "no_session")
            if request.method == "POST" and (problem := await posted_form(request, who)):
                return problem
            if permission is not None and not staff.may(who.role, permission):
                log.info("panel action refused", extra={"staff": who.user_id, "role": who.role})
                return refused(request, f"forbidden.{permission}")
            return await view(request, who)

        return inner

    return wrap


async def posted_form(request: web.Request, who: Staff) -> web.Response | None:
    """Read the posted form once (``form_of`` gives it to the view) and check its CSRF
    token: the refusal to answer with, or ``None`` when the form is good."""
    try:
        form = await read_form(request)
    except UnreadableBody:
        return refused(request, "form_unreadable", 400)
    request[FORM] = form
    return None if csrf_ok(form, who) else refused(request, "form_expired")


def csrf_ok(form: MultiDictProxy[Any], who: Staff) -> bool:
    """Whether the posted form carries this session's token (compared as bytes: any text)."""
    sent = form.get("csrf")
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), who.csrf.encode())


async def form_of(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form, as ``staff_only`` read it (``web.requests.read_form``)."""
    return request[FORM]
