"""Security headers on every response and the one global error handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web, web_response

from pmd_domain.db.faults import is_transient
from pmd_domain.i18n import DEFAULT_LANGUAGE
from pmd_domain.logs import RepeatedLog
from web.keys import CATALOGS, FAILURES, SETTINGS

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

SERVER = "Participa PMD"
# One year; subdomains are left out: the municipality's other sites are not ours to pin.
HSTS = "max-age=31536000"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Add the CSP and related headers to every response as it is prepared.

    A ``on_response_prepare`` hook (not a middleware) so that streamed responses,
    error pages and static files get them too. HSTS only when the public address is
    https (the browser would otherwise refuse the plain-http development server).
    """
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # aiohttp would name itself and Python with their versions.
    response.headers["Server"] = SERVER
    if isinstance(request, web.Request) and request.app[SETTINGS].public_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)


def hide_server_version() -> None:
    """Name the server without versions on the answers aiohttp writes by itself too.

    A malformed request (a bad request line, a header too long) is answered by aiohttp
    before any application sees it, with ``Server: Python/3.x aiohttp/3.x``. The value
    comes from ``aiohttp.web_response.SERVER_SOFTWARE``, which is not a public API:
    ``tests/web/test_hostile_input.py`` fails loudly if a new aiohttp stops reading it.
    """
    web_response.SERVER_SOFTWARE = SERVER


def _error_page(request: web.Request, status: int, what: str) -> web.Response:
    """A kind page (or JSON) from the catalogue: ``page.error.<what>.title`` / ``.text``."""
    catalogs = request.app[CATALOGS]
    title = catalogs.text(DEFAULT_LANGUAGE, f"page.error.{what}.title")
    message = catalogs.text(DEFAULT_LANGUAGE, f"page.error.{what}.text")
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status)
    response = aiohttp_jinja2.render_template(
        "error.html", request, {"title": title, "message": message}, status=status
    )
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Kind pages for 404 and 500; the traceback goes to the log only."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error_page(request, 404, "not_found")
    except web.HTTPMethodNotAllowed:
        return _error_page(request, 405, "method")
    except web.HTTPException:
        raise
    except Exception as error:
        failures = request.app.get(FAILURES) or RepeatedLog()
        failures.failure(log, "unhandled error", error, path=request.path, method=request.method)
        # A database that is down or full is a passing fault: 503, and try again.
        status = 503 if is_transient(error) else 500
        return _error_page(request, status, "failure")
