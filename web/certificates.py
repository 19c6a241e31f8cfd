"""``/constancias/{token}``: the public verification page a certificate's QR code opens.

The page shows only what SPEC §4 allows (valid or revoked, name, exercise, topics,
date, folio). Pages of existing certificates are kept in memory for ten seconds
(``PageCache``), so a burst of scans does not hit the database; a revocation made by
another process shows within that time. Unknown tokens are never cached.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from pmd_domain.services import certificates
from web.keys import CONSULTATION, DATABASE
from web.ratelimit import RateLimiter

routes = web.RouteTableDef()

PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
CACHED_HEADERS = {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"}


class PageCache:
    """Rendered verification pages by token, for ``ttl`` seconds, at most ``size`` of them."""

    def __init__(self, *, ttl: float = 10.0, size: int = 10_000):
        self.ttl = ttl
        self.size = size
        self._pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, token: str) -> bytes | None:
        """The cached page of ``token`` if still fresh."""
        found = self._pages.get(token)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, token: str, body: bytes) -> None:
        """Keep a rendered page (the oldest go first when full)."""
        if self.ttl <= 0:
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


@routes.get("/constancias/{token}", name="certificate")
async def verification_page(request: web.Request) -> web.Response:
    """The certificate's public status, or a kind 404 when the token is not valid."""
    state = request.app[VERIFICATION]
    wait = state.limiter.take(request.remote or "unknown")  # see web/clients.py
    if wait:
        return _page(request, "certificate_busy.html", {}, 429, state.limiter.retry_after(wait))
    token = request.match_info["token"]
    cached = state.cache.get(token)
    if cached is not None:
        return web.Response(body=cached, headers=CACHED_HEADERS)
    async with request.app[DATABASE].reading() as session:
        view = await certificates.verify(
            session, consultation=request.app[CONSULTATION], token=token
        )
    if view is None:
        return _page(request, "certificate_invalid.html", {}, 404)
    response = _page(request, "certificate.html", {"certificate": view}, 200)
    if isinstance(response.body, bytes):
        state.cache.put(token, response.body)
    return response


def _page(
    request: web.Request, template: str, context: dict[str, object], status: int, retry: int = 0
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(PAGE_HEADERS)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response
