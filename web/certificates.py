"""``/constancias/{token}``: the public verification page a certificate's QR code opens.

The page shows only what SPEC §4 allows (valid or revoked, name, exercise, topics,
date, folio). Pages of existing certificates are kept in memory for ten seconds
(``PageCache``), so a burst of scans does not hit the database. The cache is dropped
when the certificates' cache version in the database moves (a revocation or an
erasure, by any process or the CLI); the version is read at most once per
``certificates.PAGES_AGREE_SECONDS``, and whoever revokes waits that long before
saying the page shows it. Unknown tokens are never cached.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from pmd_domain.db import Database
from pmd_domain.services import cache_versions, certificates
from web.keys import CONSULTATION, DATABASE
from web.ratelimit import RateLimiter

routes = web.RouteTableDef()

PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
CACHED_HEADERS = {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"}


class PageCache:
    """Rendered verification pages by token, for ``ttl`` seconds, at most ``size`` of them.

    ``agree`` keeps the pages in step with the database's cache version: call it
    before ``get`` and give what it returns to ``put``.
    """

    def __init__(
        self,
        *,
        ttl: float = 10.0,
        size: int = 10_000,
        check_every: float = certificates.PAGES_AGREE_SECONDS,
    ):
        self.ttl = ttl
        self.size = size
        self.check_every = check_every
        self._pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._version: int | None = None
        self._agreed_from = float("-inf")  # start of the last check that completed
        self._check: asyncio.Future[int] | None = None
        self._check_started = float("-inf")

    async def agree(self, read_version: Callable[[], Awaitable[int]]) -> int | None:
        """Drop every page if the stored version moved; the version the pages now agree with.

        A request may use the cache only after a check that started less than
        ``check_every`` before it arrived; concurrent requests share one check.
        """
        arrived = time.monotonic()
        if arrived - self._agreed_from < self.check_every:
            return self._version
        check = self._check
        if check is None or self._check_started < arrived - self.check_every:
            check = self._check = asyncio.ensure_future(read_version())
            self._check_started = arrived
        started = self._check_started
        version = await asyncio.shield(check)
        if version != self._version:
            self._pages.clear()
            self._version = version
        self._agreed_from = max(self._agreed_from, started)
        return version

    def get(self, token: str) -> bytes | None:
        """The cached page of ``token`` if still fresh."""
        found = self._pages.get(token)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, token: str, body: bytes, version: int | None) -> None:
        """Keep a page rendered after ``agree`` returned ``version`` (the oldest go first).

        A page read before the version moved is not kept: it may show what changed.
        """
        if self.ttl <= 0 or version != self._version:
            return
        self._pages.pop(token, None)
        self._pages[token] = (time.monotonic() + self.ttl, body)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)


@dataclass
class Verification:
    """The verification page's per-application state."""

    limiter: RateLimiter
    cache: PageCache


VERIFICATION = web.AppKey("certificate_verification", Verification)


def setup(app: web.Application, *, limiter: RateLimiter | None = None) -> None:
    """Add the verification route and its rate limiter and page cache to ``app``."""
    app[VERIFICATION] = Verification(
        limiter=limiter or RateLimiter(rate=60, per=60, burst=20), cache=PageCache()
    )
    app.router.add_routes(routes)


@routes.get("/constancias/", name="certificate_lookup")
async def lookup_page(request: web.Request) -> web.Response:
    """The form to type a certificate's folio and short code; with both, its status."""
    state = request.app[VERIFICATION]
    folio = request.query.get("folio", "")[:40]
    code = request.query.get("codigo", "")[:40]
    if not folio and not code:
        return _page(request, "certificate_lookup.html", {"folio": "", "code": ""}, 200)
    wait = state.limiter.take(request.remote or "unknown")  # guesses cost like scans
    if wait:
        return _page(request, "certificate_busy.html", {}, 429, state.limiter.retry_after(wait))
    async with request.app[DATABASE].reading() as session:
        view = await certificates.verify(
            session, consultation=request.app[CONSULTATION], folio=folio, code=code
        )
    if view is None:
        context = {"folio": folio, "code": code, "not_found": True}
        return _page(request, "certificate_lookup.html", context, 404)
    return _page(request, "certificate.html", {"certificate": view}, 200)


@routes.get("/constancias/{token}", name="certificate")
async def verification_page(request: web.Request) -> web.Response:
    """The certificate's public status, or a kind 404 when the token is not valid."""
    state = request.app[VERIFICATION]
    wait = state.limiter.take(request.remote or "unknown")  # see web/clients.py
    if wait:
        return _page(request, "certificate_busy.html", {}, 429, state.limiter.retry_after(wait))
    token = request.match_info["token"]
    database = request.app[DATABASE]
    version = await state.cache.agree(lambda: _certificates_version(database))
    cached = state.cache.get(token)
    if cached is not None:
        return web.Response(body=cached, headers=CACHED_HEADERS)
    async with database.reading() as session:
        view = await certificates.verify(
            session, consultation=request.app[CONSULTATION], token=token
        )
    if view is None:
        return _page(request, "certificate_invalid.html", {}, 404)
    response = _page(request, "certificate.html", {"certificate": view}, 200)
    if isinstance(response.body, bytes):
        state.cache.put(token, response.body, version)
    return response


async def _certificates_version(database: Database) -> int:
    async with database.reading() as session:
        return await cache_versions.current(session, cache_versions.CERTIFICATES)


def _page(
    request: web.Request, template: str, context: dict[str, object], status: int, retry: int = 0
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(PAGE_HEADERS)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response
