"""Public side: live dashboard, its JSON API and charts, open data, privacy notice."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from pmd_domain import tabular
from pmd_domain.i18n import Catalogs, long_date
from pmd_domain.publication import HIDDEN
from pmd_domain.services import open_catalog, open_data
from web import charts, i18n
from web.keys import BOT_STATUS, CATALOGS, CONSULTATION, DATABASE, SETTINGS
from web.links import route_url
from web.live_stats import ChartStore, Published, SnapshotCache

routes = web.RouteTableDef()
SNAPSHOTS = web.AppKey("dashboard_snapshots", SnapshotCache)
CHARTS = web.AppKey("dashboard_charts", ChartStore)
POLL_MS = web.AppKey("dashboard_poll_ms", int)

API_MAX_AGE = 2
LICENCE = open_catalog.LICENCE
LICENCE_URL = open_catalog.LICENCE_URL


def setup(app: web.Application) -> None:
    """Add the public routes and the snapshot cache's lifecycle (after the database's)."""
    app.router.add_routes(routes)
    app[POLL_MS] = 5000
    app[QR_SVG] = {}
    env = aiohttp_jinja2.get_env(app)
    env.filters["miles"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["pct"] = lambda x: "—" if x is None else f"{100 * x:.1f}\u00a0%"
    app.cleanup_ctx.append(_lifecycle)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    chart = app.router["chart"]
    app[SNAPSHOTS] = SnapshotCache(
        database=app[DATABASE],
        consultation=app[CONSULTATION],
        chart_url=lambda name, v: str(chart.url_for(name=name).with_query(v=v)),
        catalogs=app[CATALOGS],
    )
    app[CHARTS] = ChartStore()
    yield
    app[CHARTS].close()


def _not_modified(request: web.Request, etag: str) -> bool:
    tags = request.headers.get("If-None-Match", "")
    return etag in {t.strip() for t in tags.split(",")} or tags.strip() == "*"


def _cached(request: web.Request, published: Published, body: bytes, content_type: str) -> Any:
    headers = {"ETag": published.etag, "Cache-Control": f"public, max-age={API_MAX_AGE}"}
    if _not_modified(request, published.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


def telegram_link(app: web.Application) -> str | None:
    """The bot's t.me link, when its username is known: ``TELEGRAM_BOT_USERNAME``, else
    the name Telegram gave when this process's bot started."""
    name = app[SETTINGS].telegram_bot_username or app[BOT_STATUS].get("username")
    return f"https://t.me/{name}?start=tablero" if name else None


# The page script's texts (web/static/dashboard.js reads them from data-texts).
SCRIPT_TEXTS = {
    "empty": "dashboard.table.empty",
    "underReview": "dashboard.top.under_review",
    "noTop": "dashboard.top.none",
    "open": "dashboard.open",
    "closed": "dashboard.closed",
    "announce": "dashboard.announce",
}


def _support_forms(request: web.Request) -> dict[str, str]:
    # the page script fills in {total}: "1 apoyo", "2 apoyos"
    catalogs = request.app[CATALOGS]
    return {
        f"supports_{form}": catalogs.plural("es", "dashboard.supports", n, total="{total}")
        for form, n in (("one", 1), ("other", 2))
    }


QR_SVG = web.AppKey("dashboard_telegram_qr", dict[str, bytes])


@routes.get("/participa/telegram.png", name="telegram_qr")
async def telegram_qr(request: web.Request) -> web.Response:
    """The QR code of the bot's t.me link, as PNG (drawn once, off the event loop)."""
    link = telegram_link(request.app)
    if link is None:
        raise web.HTTPNotFound()
    drawn = request.app[QR_SVG]
    body = drawn.get(link)
    if body is None:
        body = drawn[link] = await asyncio.to_thread(_qr_png, link)
    headers = {"Cache-Control": "public, max-age=3600"}
    return web.Response(body=body, content_type="image/png", headers=headers)


def _qr_png(link: str) -> bytes:
    import qrcode

    buffer = io.BytesIO()
    qrcode.make(link, box_size=8, border=4).get_image().save(buffer, format="PNG")
    return buffer.getvalue()


def dashboard_url(public_url: str) -> str:
    """The dashboard's absolute address (printed by ``pmd serve``)."""
    return route_url(routes, public_url, "dashboard")


@routes.get("/", name="dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """The live participation dashboard (server-rendered once per snapshot)."""
    published = await request.app[SNAPSHOTS].get()
    link = telegram_link(request.app)
    if published.page is None or published.page_link != link:
        consultation = request.app[CONSULTATION]
        zone = ZoneInfo(consultation.exercise.timezone)
        published_at = _moment(request, published.snapshot["breakdowns"]["published_at"])
        context = {
            "s": published.snapshot,
            "charts": published.charts,
            "poll_ms": request.app[POLL_MS],
            "opens": long_date(consultation.exercise.opens, zone=consultation.exercise.timezone),
            "closes": long_date(consultation.exercise.closes, zone=consultation.exercise.timezone),
            "census": consultation.census,
            "dimension_title": _titles(request.app[CATALOGS], published.snapshot),
            "slug": charts.slug,
            "published_at": published_at,
            "published_span": Markup('<span data-field="published">{}</span>').format(
                published_at or ""
            ),
            "people_span": Markup('<span data-field="published-people">{}</span>').format(
                f"{published.snapshot['breakdowns']['participants']:,}"
            ),
            "updated_span": Markup('<span data-field="updated">{}</span>').format(
                f"{datetime.fromisoformat(published.snapshot['generated_at']).astimezone(zone):%H:%M:%S}"
            ),
            "telegram_link": link,
            **_support_forms(request),
            "script_texts": i18n.script_texts(request.app[CATALOGS], "es", SCRIPT_TEXTS),
        }
        html = aiohttp_jinja2.render_string("dashboard.html", request, context)
        published.page, published.page_link = html.encode(), link
    return _cached(request, published, published.page, "text/html")


@routes.get("/api/estadisticas", name="api_stats")
async def api_stats(request: web.Request) -> web.Response:
    """The dashboard's figures as JSON, with ETag and a short public cache."""
    published = await request.app[SNAPSHOTS].get()
    return _cached(request, published, published.body, "application/json")


@routes.get("/graficas/{name}.png", name="chart")
async def chart(request: web.Request) -> web.Response:
    """One chart as PNG; a URL with the current version may be cached for good."""
    published = await request.app[SNAPSHOTS].get()
    spec = published.charts.get(request.match_info["name"])
    if spec is None:
        raise web.HTTPNotFound()
    etag = f'"{spec["version"]}"'
    current = request.query.get("v") == spec["version"]
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable" if current else "public, max-age=5",
    }
    if _not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    png = await request.app[CHARTS].png(spec)
    return web.Response(body=png, content_type="image/png", headers=headers)


@routes.get("/datos/", name="open_data")
async def open_data_page(request: web.Request) -> web.Response:
    """What the open data files hold and under which licence."""
    context = {
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "k": request.app[CONSULTATION].limits.small_cell_k,
        "hidden": HIDDEN,
        "proposal_columns": open_data.PROPOSAL_COLUMNS,
        "participation_columns": open_data.PARTICIPATION_COLUMNS,
    }
    return aiohttp_jinja2.render_template("open_data.html", request, context)


@routes.get("/datos/propuestas.{fmt:csv|json}", name="open_proposals")
async def open_proposals(request: web.Request) -> web.StreamResponse:
    """Published proposals, streamed page by page (no personal data)."""
    fmt = request.match_info["fmt"]
    response = _download(request, f"propuestas.{fmt}")
    await response.prepare(request)
    if request.method == "HEAD":  # the headers only: nothing may follow them
        await response.write_eof()
        return response
    first = True
    if fmt == "csv":
        await response.write(tabular.csv_bytes([], header=open_data.PROPOSAL_COLUMNS))
    else:
        await response.write(json_head(request, "propuestas"))
    async for page in _proposal_pages(request):
        if fmt == "csv":
            rows = ([row[c] for c in open_data.PROPOSAL_COLUMNS] for row in page)
            await response.write(tabular.csv_bytes(rows))
        else:
            chunk = ",".join(json.dumps(row, ensure_ascii=False) for row in page)
            await response.write(("" if first else ",").encode() + chunk.encode())
            first = False
    if fmt == "json":
        await response.write(b"]}")
    await response.write_eof()
    return response


async def _proposal_pages(request: web.Request) -> AsyncIterator[list[dict[str, Any]]]:
    after = 0
    while True:
        # One short read per page: no long transaction, bounded memory.
        async with request.app[DATABASE].reading() as session:
            page, after = await open_data.published_page(
                session,
                consultation=request.app[CONSULTATION],
                catalogs=request.app[CATALOGS],
                after_id=after,
                limit=open_data.PAGE,
            )
        if page:
            yield page
        if not after:
            return


@routes.get("/datos/participacion.{fmt:csv|json}", name="open_participation")
async def open_participation(request: web.Request) -> web.Response:
    """Aggregate participation counts, cross-tab cells under k suppressed."""
    fmt = request.match_info["fmt"]
    published = await request.app[SNAPSHOTS].get()
    rows = open_data.participation_rows(published.snapshot)
    if fmt == "csv":
        columns = open_data.PARTICIPATION_COLUMNS
        body = tabular.csv_bytes(([row[c] for c in columns] for row in rows), header=columns)
    else:
        body = json_head(request, "participacion") + b",".join(
            json.dumps(row, ensure_ascii=False).encode() for row in rows
        )
        body += b"]}"
    response = _download(request, f"participacion.{fmt}", stream=False)
    response.body = body
    return response


@routes.get("/escudo", name="coat_of_arms")
async def coat_of_arms(request: web.Request) -> web.Response:
    """The office's coat of arms named in the consultation file (404 when none)."""
    image = request.app[CONSULTATION].coat_of_arms
    if image is None:
        raise web.HTTPNotFound()
    kind = "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"
    headers = {"Cache-Control": "public, max-age=86400"}
    return web.Response(body=image, content_type=kind, headers=headers)


@routes.get("/privacidad", name="privacy")
async def privacy(request: web.Request) -> web.Response:
    """The full privacy notice."""
    consultation = request.app[CONSULTATION]
    notice = consultation.privacy
    text = consultation.text(notice.full, "es").strip()
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    basis = consultation.text(consultation.office.legal_basis, "es")
    context = {
        "paragraphs": paragraphs,
        "version": notice.version,
        "controller": notice.controller,
        "legal_basis": basis,
    }
    return aiohttp_jinja2.render_template("privacy.html", request, context)


def _download(request: web.Request, filename: str, *, stream: bool = True) -> Any:
    kind = "text/csv" if filename.endswith(".csv") else "application/json"
    headers = {
        "Content-Type": f"{kind}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "public, max-age=60",
    }
    return web.StreamResponse(headers=headers) if stream else web.Response(headers=headers)


def json_head(request: web.Request, key: str) -> bytes:
    """The open data JSON files' opening: licence, attribution, exercise, then ``key``'s list."""
    consultation = request.app[CONSULTATION]
    head = {
        "licencia": LICENCE,
        "licencia_url": LICENCE_URL,
        "atribucion": f"Municipio de {consultation.exercise.municipality}",
        "ejercicio": consultation.exercise.slug,
    }
    text = json.dumps(head, ensure_ascii=False)
    return (text[:-1] + f', "{key}": [').encode()


def _moment(request: web.Request, iso: str | None) -> str | None:
    """When the breakdowns were published, as the exercise's people read it."""
    if iso is None:
        return None
    exercise = request.app[CONSULTATION].exercise
    local = datetime.fromisoformat(iso).astimezone(ZoneInfo(exercise.timezone))
    return request.app[CATALOGS].text(
        "es",
        "dashboard.moment",
        date=long_date(local),
        time=f"{local:%H:%M}",
        zone=exercise.municipality,
    )


def _titles(catalogs: Catalogs, snapshot: dict[str, Any]) -> dict[str, str]:
    return {dim: charts.dimension_title(catalogs, dim) for dim in snapshot["participants"]}
