"""``pmd privacy purge [--dry-run]``: the end of the retention period, by hand."""

from __future__ import annotations

import argparse
from typing import Any
from zoneinfo import ZoneInfo

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.services import retention


def run_purge(args: argparse.Namespace) -> int:
    """Delete or anonymise what is past the retention period (or say what would be)."""
    settings = common.settings()
    consultation = common.consultation(settings)

    async def work(database: Database) -> retention.Purge:
        async with database.transaction(bulk=True) as session:
            return await retention.purge(
                session, consultation=consultation, now=utcnow(), dry_run=args.dry_run
            )

    found: retention.Purge = common.run(common.with_database(settings, work, existing=True))
    zone = ZoneInfo(consultation.exercise.timezone)
    date = found.date.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if not found.due:
        print(f"Nada que borrar todavía: el plazo de conservación termina el {date}.")
        return 0
    verb = "Se borrarían o anonimizarían" if args.dry_run else "Se borraron o anonimizaron"
    print(
        f"{verb} (plazo vencido el {date}): {found.participants} participantes, "
        f"{found.proposals} propuestas no publicadas, {found.certificates} constancias, "
        f"{found.states} conversaciones en curso y {found.votes} votos."
    )
    return 0


def register(sub: Any) -> None:
    """Add ``privacy`` to the parser."""
    parser = sub.add_parser("privacy", help="datos personales: plazo de conservación")
    actions = parser.add_subparsers(dest="privacy_command", required=True, metavar="ACCIÓN")
    purge = actions.add_parser(
        "purge", help="borra o anonimiza lo que pasó su plazo de conservación"
    )
    purge.add_argument("--dry-run", action="store_true", help="solo dice qué se borraría")
    purge.set_defaults(func=run_purge)
