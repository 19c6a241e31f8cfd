"""The staff export: every proposal with its analysis, as CSV or XLSX.

Shared by the staff web area and ``pmd export``. Rows are read in pages; the files
are written by plain functions so callers can run them off the event loop. Cells
that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``) are kept
as text: a citizen's text must never run as a formula on a staff computer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import analysis, open_data, stats

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
PROPOSALS_SHEET = "Propuestas"
PARTICIPATION_SHEET = "Participación"


def csv_safe(value: Any) -> Any:
    """A cell value that a spreadsheet shows as typed (a leading quote defuses formulas)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        buffer.write(BOM)
        writer.writerow(analysis.EXPORT_COLUMNS)
    writer.writerows([csv_safe(row[c]) for c in analysis.EXPORT_COLUMNS] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _cells(sheet: Any, values: Sequence[Any]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        cells.append(cell)
    return cells


def write_xlsx(
    target: IO[bytes],
    proposals: Iterable[dict[str, Any]],
    participation: Iterable[dict[str, Any]],
) -> None:
    """Write the workbook: proposals on the first sheet, aggregate counts on the second."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(PROPOSALS_SHEET)
    sheet.append(_cells(sheet, analysis.EXPORT_COLUMNS))
    for row in proposals:
        sheet.append(_cells(sheet, [row[c] for c in analysis.EXPORT_COLUMNS]))
    counts = book.create_sheet(PARTICIPATION_SHEET)
    counts.append(_cells(counts, open_data.PARTICIPATION_COLUMNS))
    for row in participation:
        counts.append(_cells(counts, [row[c] for c in open_data.PARTICIPATION_COLUMNS]))
    book.save(target)


def xlsx_bytes(
    proposals: Iterable[dict[str, Any]], participation: Iterable[dict[str, Any]]
) -> bytes:
    """The workbook as bytes (blocking: call it in a worker thread)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, proposals, participation)
    return buffer.getvalue()
