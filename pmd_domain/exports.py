"""The staff export: every proposal with its analysis, as CSV or XLSX.

Shared by the staff web area and ``pmd export``. Rows are read in pages; the files
are written by plain functions so callers can run them off the event loop, through
the one table writer (``pmd_domain.tabular``), which defuses formulas.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import analysis, open_data, stats
from pmd_domain.tabular import csv_bytes as table_csv
from pmd_domain.tabular import xlsx_cells

PROPOSALS_SHEET = "Propuestas"
PARTICIPATION_SHEET = "Participación"


async def proposal_pages(
    database: Database, *, consultation: Consultation, page_size: int = analysis.EXPORT_PAGE
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every proposal's export row, one short read transaction per page."""
    after = 0
    while True:
        async with database.reading() as session:
            page, after = await analysis.export_page(
                session, consultation=consultation, after_id=after, limit=page_size
            )
        if page:
            yield page
        if not after:
            return


async def participation_rows(
    database: Database, *, consultation: Consultation, now: datetime
) -> list[dict[str, Any]]:
    """Aggregate participation counts (the open data figures; small cross-tab cells hidden)."""
    async with database.reading() as session:
        snapshot = await stats.snapshot(session, consultation=consultation, now=now)
    return open_data.participation_rows(snapshot)


def csv_bytes(rows: Iterable[dict[str, Any]], *, header: bool = False) -> bytes:
    """Export rows as CSV (UTF-8 with a BOM before the header, so spreadsheets read accents)."""
    values = ([row[c] for c in analysis.EXPORT_COLUMNS] for row in rows)
    return table_csv(values, header=analysis.EXPORT_COLUMNS if header else None)


def write_xlsx(
    target: IO[bytes],
    proposals: Iterable[dict[str, Any]],
    participation: Iterable[dict[str, Any]],
) -> None:
    """Write the workbook: proposals on the first sheet, aggregate counts on the second."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(PROPOSALS_SHEET)
    sheet.append(xlsx_cells(sheet, analysis.EXPORT_COLUMNS))
    for row in proposals:
        sheet.append(xlsx_cells(sheet, [row[c] for c in analysis.EXPORT_COLUMNS]))
    counts = book.create_sheet(PARTICIPATION_SHEET)
    counts.append(xlsx_cells(counts, open_data.PARTICIPATION_COLUMNS))
    for row in participation:
        counts.append(xlsx_cells(counts, [row[c] for c in open_data.PARTICIPATION_COLUMNS]))
    book.save(target)


def xlsx_bytes(
    proposals: Iterable[dict[str, Any]], participation: Iterable[dict[str, Any]]
) -> bytes:
    """The workbook as bytes (blocking: call it in a worker thread)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, proposals, participation)
    return buffer.getvalue()
