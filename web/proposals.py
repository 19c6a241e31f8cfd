"""Public accountability: ``/propuestas``, ``/propuestas/{folio}``, ``/resultados``.

Pages are rendered once and kept in memory for ``PAGE_SECONDS`` (``RenderedPages``:
per URL, bounded, one rendering per URL at a time), like the dashboard's snapshot,
so a burst of visitors to a shared proposal costs one query. A list page is one
indexed keyset query (``services/public_proposals``); the results come from
``services/results``, computed at most once per interval for every format (page,
CSV, JSON, PDF). The PDF renders in the certificates' worker pool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web

from pmd_domain import tabular
from pmd_domain.certificates.results_pdf import render_results_pdf
from pmd_domain.clock import utcnow
from pmd_domain.errors import NotFound
from pmd_domain.i18n import long_date
from pmd_domain.services import public_proposals, results
from pmd_domain.services.proposals import OUTCOMES
from pmd_domain.services.public_proposals import Query
from web.dashboard import json_head
from web.keys import CATALOGS, CONSULTATION, DATABASE, RENDERER, SETTINGS
from web.links import RouterLinks
from web.ratelimit import RateLimiter

routes = web.RouteTableDef()
PAGE_SECONDS = 5.0
RESULTS_SECONDS = 10.0
HTML_HEADERS = {"Cache-Control": f"public, max-age={int(PAGE_SECONDS)}"}


@dataclass
class Rendered:
    """A response body kept for a while."""

    status: int
    body: bytes
    expires: float


class RenderedPages:
    """Rendered responses by key for ``ttl`` seconds (at most ``size``), one build per key."""

    def __init__(self, *, ttl: float = PAGE_SECONDS, size: int = 2_000):
        self.ttl = ttl
        self.size = size
        self.builds = 0
        self._pages: OrderedDict[str, Rendered] = OrderedDict()
        self._building: dict[str, asyncio.Future[Rendered]] = {}

    async def get(self, key: str, build: Callable[[], Awaitable[tuple[int, bytes]]]) -> Rendered:
        """The cached response of ``key``, or the one ``build`` makes (shared by concurrent calls)."""
        found = self._pages.get(key)
        if found is not None and found.expires > time.monotonic():
            return found
        pending = self._building.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._build(key, build))
            self._building[key] = pending
        return await asyncio.shield(pending)

    async def _build(self, key: str, build: Callable[[], Awaitable[tuple[int, bytes]]]) -> Rendered:
        try:
            status, body = await build()
            self.builds += 1
            page = Rendered(status=status, body=body, expires=time.monotonic() + self.ttl)
            if self.ttl > 0:
                self._pages.pop(key, None)
                self._pages[key] = page
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
            return page
        finally:
            self._building.pop(key, None)

    def fresh(self, key: str) -> bool:
        """Whether ``key`` would be answered from the cache now."""
        found = self._pages.get(key)
        return found is not None and found.expires > time.monotonic()

    def clear(self) -> None:
        """Forget every page (the next request renders again)."""
        self._pages.clear()


@dataclass(frozen=True)
class Computed:
    """Results and the number of the computation that made them (part of the cache keys)."""

    version: int
    figures: dict[str, Any]


class ResultsCache:
    """The results, computed at most once per ``ttl`` seconds by one computation."""

    def __init__(self, *, ttl: float = RESULTS_SECONDS):
        self.ttl = ttl
        self.computations = 0
        self._value: tuple[float, Computed] | None = None
        self._task: asyncio.Future[Computed] | None = None

    async def get(self, compute: Callable[[], Awaitable[dict[str, Any]]]) -> Computed:
        """The cached results, or fresh ones when they are older than ``ttl``."""
        if self._value is not None and time.monotonic() - self._value[0] < self.ttl:
            return self._value[1]
        if self._task is None:
            self._task = asyncio.ensure_future(self._compute(compute))
        return await asyncio.shield(self._task)

    async def _compute(self, compute: Callable[[], Awaitable[dict[str, Any]]]) -> Computed:
        try:
            figures = await compute()
            self.computations += 1
            value = Computed(version=self.computations, figures=figures)
            self._value = (time.monotonic(), value)
            return value
        finally:
            self._task = None


PAGES = web.AppKey("public_pages", RenderedPages)
RESULTS = web.AppKey("public_results", ResultsCache)
# Text searches the page cache cannot answer, per client address (web/clients.py): a
# word found nowhere reads the whole index of its filter (docs/accountability.md).
SEARCHES = web.AppKey("public_searches", RateLimiter)


def setup(app: web.Application) -> None:
    """Add the public proposal and results routes and their caches."""
    app[PAGES] = RenderedPages()
    app[RESULTS] = ResultsCache()
    app[SEARCHES] = RateLimiter(rate=30, per=60, burst=15)
    app.router.add_routes(routes)


def _names(request: web.Request) -> dict[str, str]:
    return request.app[CONSULTATION].labels("es")


async def _html(
    request: web.Request, key: str, build: Callable[[], Awaitable[tuple[int, bytes]]]
) -> web.Response:
    page = await request.app[PAGES].get(key, build)
    return web.Response(
        body=page.body,
        status=page.status,
        content_type="text/html",
        charset="utf-8",
        headers=HTML_HEADERS,
    )


def _render(request: web.Request, template: str, context: dict[str, Any]) -> bytes:
    return aiohttp_jinja2.render_string(template, request, context).encode()


@routes.get("/propuestas", name="proposals")
async def proposal_list(request: web.Request) -> web.Response:
    """Published proposals, newest first: search, filters and keyset pages (no JavaScript)."""
    raw = request.query_string
    long = Query.parse(request.app[CONSULTATION], dict(request.query)) if len(raw) > 300 else None
    # Cached by the address as asked (the common, short ones: no parsing on a hit), or by
    # the parsed query for a long one, so that a long address cannot stand for another.
    key = "list?" + raw if long is None else "list#" + repr(long)
    if request.query.get("q", "").strip() and not request.app[PAGES].fresh(key):
        limiter = request.app[SEARCHES]
        wait = limiter.take(request.remote or "unknown")
        if wait:
            body = _render(request, "proposals_busy.html", {})
            return web.Response(
                body=body,
                status=429,
                content_type="text/html",
                charset="utf-8",
                headers={"Retry-After": str(limiter.retry_after(wait))},
            )

    async def build() -> tuple[int, bytes]:
        query = Query.parse(request.app[CONSULTATION], dict(request.query))
        async with request.app[DATABASE].reading() as session:
            found = await public_proposals.page(session, query=query)
        base = str(request.app.router["proposals"].url_for())
        params = query.params()
        context = {
            "query": query,
            "page": found,
            "names": _names(request),
            "older_url": f"{base}?{urlencode({**params, 'antes': found.older})}"
            if found.older
            else None,
            "newer_url": f"{base}?{urlencode({**params, 'despues': found.newer})}"
            if found.newer
            else None,
            "outcomes": OUTCOMES,
        }
        return 200, _render(request, "proposals.html", context)

    return await _html(request, key, build)


@routes.get("/propuestas/{folio}", name="proposal")
async def proposal_page(request: web.Request) -> web.Response:
    """One published proposal, its supports and the planning office's answer; 404 otherwise."""
    folio = request.match_info["folio"].strip().upper()[:24]

    async def build() -> tuple[int, bytes]:
        try:
            async with request.app[DATABASE].reading() as session:
                record = await public_proposals.detail(session, folio=folio)
        except NotFound:
            return 404, _render(request, "proposal_missing.html", {})
        catalogs = request.app[CATALOGS]
        url = RouterLinks(request.app.router, request.app[SETTINGS].public_url).proposal(
            record.folio
        )
        title = catalogs.text("es", "public.proposal.share_title", folio=record.folio)
        share = f"{title}: {url}"
        context = {
            "p": record,
            "names": _names(request),
            "url_abs": url,
            "og_title": title,
            "og_description": record.proposal[:200],
            "whatsapp": "https://wa.me/?text=" + quote(share, safe=""),
            "telegram": "https://t.me/share/url?"
            + urlencode({"url": url, "text": title}, quote_via=quote),
        }
        return 200, _render(request, "proposal.html", context)

    return await _html(request, "proposal:" + folio, build)


async def _results(request: web.Request) -> Computed:
    async def compute() -> dict[str, Any]:
        async with request.app[DATABASE].reading() as session:
            return await results.compute(session, consultation=request.app[CONSULTATION])

    return await request.app[RESULTS].get(compute)


async def modified_results(request: web.Request) -> str | None:
    """When an answer was last recorded (ISO 8601), None before the first."""
    modified = (await _results(request)).figures["modified"]
    return str(modified) if modified else None


@routes.get("/resultados", name="results")
async def results_page(request: web.Request) -> web.Response:
    """What became of the consultation, per pillar and strategic action."""
    computed = await _results(request)

    async def build() -> tuple[int, bytes]:
        return 200, _render(
            request, "results.html", {"r": computed.figures, "kinds": results.KINDS}
        )

    return await _html(request, f"results:{computed.version}", build)


@routes.get("/resultados.pdf", name="results_pdf")
async def results_pdf(request: web.Request) -> web.Response:
    """The results as a printable PDF for the cabildo (rendered in the certificates' pool)."""
    computed = await _results(request)
    texts = _pdf_texts(request, computed.figures)

    async def build() -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        pdf = await loop.run_in_executor(
            request.app[RENDERER].executor, render_results_pdf, computed.figures, texts
        )
        return 200, pdf

    page = await request.app[PAGES].get(f"results.pdf:{computed.version}", build)
    return web.Response(
        body=page.body,
        content_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="resultados.pdf"',
            "Cache-Control": f"public, max-age={int(RESULTS_SECONDS)}",
        },
    )


@routes.get("/datos/resultados.{fmt:csv|json}", name="open_results")
async def open_results(request: web.Request) -> web.Response:
    """The results as open data (CSV through the one table writer, or JSON)."""
    fmt = request.match_info["fmt"]
    flat = results.rows((await _results(request)).figures)
    if fmt == "csv":
        body = tabular.csv_bytes(
            ([row[c] for c in results.COLUMNS] for row in flat), header=results.COLUMNS
        )
    else:
        records = ",".join(json.dumps(row, ensure_ascii=False) for row in flat)
        body = json_head(request, "resultados") + records.encode() + b"]}"
    kind = "text/csv" if fmt == "csv" else "application/json"
    return web.Response(
        body=body,
        headers={
            "Content-Type": f"{kind}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="resultados.{fmt}"',
            "Cache-Control": "public, max-age=60",
        },
    )


def _pdf_texts(request: web.Request, figures: dict[str, Any]) -> dict[str, str]:
    catalogs, consultation = request.app[CATALOGS], request.app[CONSULTATION]
    exercise = consultation.exercise

    def t(key: str, **params: object) -> str:
        return catalogs.text("es", key, **params)

    texts = {
        "title": t("results.title"),
        "subtitle": consultation.text(exercise.title, "es"),
        "authority": exercise.authority,
        "intro": t(
            "results.pdf.intro",
            published=figures["published"],
            answered=figures["answered"],
            municipality=exercise.municipality,
        ),
        "pillar_answered": t("results.pillar.answered"),
        "action": t("results.column.action"),
        "aligned": t("results.column.aligned"),
        "generated": t(
            "results.pdf.generated",
            date=long_date(utcnow(), zone=request.app[CONSULTATION].exercise.timezone),
        ),
    }
    texts.update({kind: t(f"results.kind.{kind}") for kind in results.KINDS})
    return texts
