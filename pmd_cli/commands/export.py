"""``pmd export``: every proposal with its analysis, to a CSV or XLSX file."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from pmd_cli import common
from pmd_domain import exports
from pmd_domain.clock import utcnow
from pmd_domain.db import Database

FORMATS = ("csv", "xlsx")


def _format(args: argparse.Namespace) -> str:
    chosen = args.format or Path(args.output).suffix.lower().lstrip(".")
    if chosen not in FORMATS:
        raise common.CommandError(
            "No sé en qué formato exportar: usa --format csv o --format xlsx "
            "(o un archivo que termine en .csv o .xlsx)."
        )
    return str(chosen)


def run(args: argparse.Namespace) -> int:
    """Write the staff export to ``--output``."""
    fmt = _format(args)
    output = Path(args.output)
    settings = common.settings()
    common.new_file(output, force=args.force, database_url=settings.database_url)
    consultation = common.consultation(settings)
    partial = output.with_name(f".{output.name}.partial")

    async def work(database: Database) -> int:
        count = 0
        if fmt == "csv":
            with partial.open("wb") as handle:
                handle.write(exports.csv_bytes([], header=True))
                async for rows in exports.proposal_pages(database, consultation=consultation):
                    handle.write(exports.csv_bytes(rows))
                    count += len(rows)
            return count
        rows = [
            row
            async for page in exports.proposal_pages(database, consultation=consultation)
            for row in page
        ]
        counts = await exports.participation_rows(database, consultation=consultation, now=utcnow())
        with partial.open("wb") as handle:
            await asyncio.to_thread(exports.write_xlsx, handle, rows, counts)
        return len(rows)

    try:
        count = common.run(common.with_database(settings, work, existing=True))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    what = "propuesta exportada" if count == 1 else "propuestas exportadas"
    print(f"{count:,} {what} a {output}.")
    return 0


def register(sub: Any) -> None:
    """Add ``export`` to the parser."""
    parser = sub.add_parser("export", help="exporta las propuestas y su análisis (CSV o XLSX)")
    parser.add_argument("--format", choices=FORMATS, help="csv o xlsx (si no, por la extensión)")
    parser.add_argument("--output", "-o", required=True, help="archivo de salida")
    parser.add_argument("--force", action="store_true", help="reemplaza el archivo si existe")
    parser.set_defaults(func=run)
