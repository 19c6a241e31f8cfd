"""Security headers on every response, the one global error handler, and malformed requests.

Every refusal the application writes is a short page from the catalogue (or JSON for
a script): 400, 403, 404, 405, 413 and the 500/503 of a failure. An address or a
query holding a NUL character (which no link has, and PostgreSQL refuses in text) is
refused before any view runs. A request too malformed for aiohttp to parse (a bad
request line or header, a line too long) is answered by aiohttp itself with a
plain-text 400; its log line, which would quote the request's bytes (cookies
included) in a traceback, becomes one line with the parser's error type
(``quiet_malformed_requests``), at most once every 30 seconds per type.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web, web_response
from aiohttp.http_exceptions import HttpProcessingError

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


# The refusals answered with a page of their own (``page.error.<what>``).
REFUSALS = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method",
    413: "too_large",
}
JSON = "application/json"
# Machine endpoints keep aiohttp's short answers: Telegram and Meta read the status only.
WEBHOOK_ROUTES = frozenset({"telegram_webhook", "whatsapp_verify", "whatsapp_webhook"})


def _wants_json(request: web.Request) -> bool:
    """A script's request (it reads JSON back), not a page's."""
    return (
        JSON in request.headers.get("Accept", "")
        or request.path.startswith("/api/")
        or request.content_type == JSON
    )


def _error_page(request: web.Request, status: int, what: str) -> web.Response:
    """A kind page (or JSON) from the catalogue: ``page.error.<what>.title`` / ``.text``."""
    catalogs = request.app[CATALOGS]
    title = catalogs.text(DEFAULT_LANGUAGE, f"page.error.{what}.title")
    message = catalogs.text(DEFAULT_LANGUAGE, f"page.error.{what}.text")
    if _wants_json(request):
        return web.json_response({"error": message}, status=status)
    response = aiohttp_jinja2.render_template(
        "error.html", request, {"title": title, "message": message}, status=status
    )
    return response


def _default_text(error: web.HTTPException) -> bool:
    """Whether ``error`` says only its status ("403: Forbidden"), as aiohttp writes it."""
    return error.text == f"{error.status}: {error.reason}"


def _missing_static(request: web.Request) -> bool:
    """A static file that does not exist (aiohttp's own answer is an empty 404)."""
    resource = request.match_info.route.resource
    if not isinstance(resource, web.StaticResource):
        return False
    folder = resource.get_info()["directory"]
    try:
        return not (folder / request.match_info.get("filename", "")).is_file()
    except OSError:  # a name too long for the file system, say
        return True


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Kind pages for the refusals and for 500; the traceback goes to the log only.

    A refusal that carries words of its own (a view's ``HTTPException`` with a text) is
    left as it is, and so is a webhook's (``WEBHOOK_ROUTES``); a body too large (413)
    is otherwise always this page, whatever aiohttp wrote.
    """
    try:
        if "\x00" in request.path:
            raise web.HTTPNotFound()
        if "\x00" in request.query_string:
            return _error_page(request, 400, "bad_address")
        if _missing_static(request):
            raise web.HTTPNotFound()
        return await handler(request)
    except web.HTTPException as refusal:
        what = REFUSALS.get(refusal.status)
        if what is None or not (_default_text(refusal) or refusal.status == 413):
            raise
        if request.match_info.route.name in WEBHOOK_ROUTES:
            raise
        return _error_page(request, refusal.status, what)
    except Exception as error:
        failures = request.app.get(FAILURES) or RepeatedLog()
        failures.failure(log, "unhandled error", error, path=request.path, method=request.method)
        # A database that is down or full is a passing fault: 503, and try again.
        status = 503 if is_transient(error) else 500
        return _error_page(request, status, "failure")


class _MalformedRequests(logging.Filter):
    """Turns aiohttp's traceback for a request it could not parse into one short line."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = RepeatedLog()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        self.failures.log(
            log, logging.INFO, "malformed request refused", reason=type(error).__name__
        )
        return False


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server log (once per process)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _MalformedRequests) for f in server_log.filters):
        server_log.addFilter(_MalformedRequests())
