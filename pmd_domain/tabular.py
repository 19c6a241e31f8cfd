"""The one writer of every table that leaves the system: CSV and XLSX cells.

Open data (``/datos/*.csv``), the staff exports (``/panel/exportar.*``, ``pmd export``)
and anything else written as a spreadsheet go through here, so that a citizen's text
never runs as a formula on whoever opens the file:

- CSV: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return gets a leading apostrophe (``'=HYPERLINK(...)``), which spreadsheets show as
  typed and do not evaluate (OWASP's advice on CSV injection). Numbers are written as
  numbers. UTF-8 (with a BOM before a header, so spreadsheets read accents), RFC 4180
  quoting, CRLF line ends.
- XLSX: every text cell is typed as a string (``data_type = "s"``), which a
  spreadsheet never evaluates whatever it starts with; characters that XML cannot
  hold are removed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def defuse(value: Any) -> Any:
    """A CSV cell value that a spreadsheet shows as typed (never a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None) -> bytes:
    """Rows as CSV bytes; with ``header``, the BOM and the header line come first."""
    buffer = io.StringIO()
    if header is not None:
        buffer.write(BOM)
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    if header is not None:
        writer.writerow([defuse(name) for name in header])
    writer.writerows([defuse(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_cells(sheet: Any, values: Sequence[Any]) -> list[WriteOnlyCell]:
    """One row of a write-only worksheet, text typed as text."""
    cells = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        cells.append(cell)
    return cells
