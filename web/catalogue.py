"""``/datos/catalogo.json`` (DCAT) and ``/datos/diccionario/{name}.csv`` (data dictionaries)."""

from __future__ import annotations

import json

from aiohttp import web

from pmd_domain import tabular
from pmd_domain.services import open_catalog
from web.dashboard import SNAPSHOTS
from web.keys import CATALOGS, CONSULTATION, SETTINGS
from web.links import RouterLinks
from web.proposals import modified_results

routes = web.RouteTableDef()
FILE_ROUTES = {
    "propuestas": "open_proposals",
    "participacion": "open_participation",
    "resultados": "open_results",
}


@routes.get("/datos/diccionario/{name}.csv", name="open_dictionary")
async def dictionary(request: web.Request) -> web.Response:
    """The data dictionary of one open data file: each column, what it holds, its type."""
    item = open_catalog.dataset(request.match_info["name"])
    if item is None:
        raise web.HTTPNotFound()
    rows = open_catalog.dictionary(request.app[CATALOGS], item)
    body = tabular.csv_bytes(rows, header=open_catalog.DICTIONARY_COLUMNS)
    return web.Response(
        body=body,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="diccionario-{item.name}.csv"',
            "Cache-Control": "public, max-age=3600",
        },
    )


@routes.get("/datos/catalogo.json", name="open_catalog")
async def catalogue(request: web.Request) -> web.Response:
    """DCAT metadata of every dataset (Project Open Data v1.1, as datos.gob.mx reads it)."""
    settings = request.app[SETTINGS]
    links = RouterLinks(request.app.router, settings.public_url)
    base = settings.public_url.rstrip("/")
    router = request.app.router
    snapshot = (await request.app[SNAPSHOTS].get()).snapshot
    live = snapshot["generated_at"]

    def file_url(name: str, fmt: str) -> str:
        if name == "resultados" and fmt == "pdf":
            return base + str(router["results_pdf"].url_for())
        return base + str(router[FILE_ROUTES[name]].url_for(fmt=fmt))

    document = open_catalog.catalogue(
        request.app[CATALOGS],
        request.app[CONSULTATION],
        landing_page=base + str(router["open_data"].url_for()),
        contact_url=links.privacy(),
        file_url=file_url,
        dictionary_url=lambda name: base + str(router["open_dictionary"].url_for(name=name)),
        modified={
            "propuestas": live,
            "participacion": snapshot["breakdowns"]["published_at"] or live,
            "resultados": await modified_results(request) or live,
        },
    )
    return web.Response(
        text=json.dumps(document, ensure_ascii=False, indent=1),
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=60"},
    )
