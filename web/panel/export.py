"""The staff export: every proposal with its analysis (CSV streamed, XLSX built in a thread)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from pmd_domain import exports
from pmd_domain.clock import local_day, utcnow
from web.keys import CONSULTATION, DATABASE
from web.panel.session import Staff, staff_only

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _headers(request: web.Request, extension: str, kind: str) -> dict[str, str]:
    consultation = request.app[CONSULTATION]
    day = local_day(utcnow(), consultation.exercise.timezone)
    name = f"propuestas-{consultation.exercise.slug}-{day}.{extension}"
    return {
        "Content-Type": kind,
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    }


@routes.get("/panel/exportar.csv", name="panel_export_csv")
@staff_only()
async def export_csv(request: web.Request, who: Staff) -> web.StreamResponse:
    """Every proposal as CSV, streamed page by page."""
    log.info("panel export csv", extra={"staff": who.user_id})
    response = web.StreamResponse(headers=_headers(request, "csv", "text/csv; charset=utf-8"))
    await response.prepare(request)
    await response.write(exports.csv_bytes([], header=True))
    async for rows in exports.proposal_pages(
        request.app[DATABASE], consultation=request.app[CONSULTATION]
    ):
        await response.write(exports.csv_bytes(rows))
    await response.write_eof()
    return response


@routes.get("/panel/exportar.xlsx", name="panel_export_xlsx")
@staff_only()
async def export_xlsx(request: web.Request, who: Staff) -> web.Response:
    """Every proposal and the aggregate participation counts as an Excel workbook."""
    log.info("panel export xlsx", extra={"staff": who.user_id})
    database, consultation = request.app[DATABASE], request.app[CONSULTATION]
    rows = [
        row
        async for page in exports.proposal_pages(database, consultation=consultation)
        for row in page
    ]
    counts = await exports.participation_rows(database, consultation=consultation, now=utcnow())
    body = await asyncio.to_thread(exports.xlsx_bytes, rows, counts)
    return web.Response(body=body, headers=_headers(request, "xlsx", XLSX))
