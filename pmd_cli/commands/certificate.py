"""``pmd certificate``: revoke a participation certificate by its folio."""

from __future__ import annotations

import argparse
from typing import Any

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.errors import NotFound
from pmd_domain.services import certificates


def run(args: argparse.Namespace) -> int:
    """Revoke the certificate with the given folio; its verification page then says so."""
    folio = args.folio.strip().upper()
    reason = " ".join(args.reason.split())
    if not reason:
        raise common.CommandError("Escribe el motivo de la revocación con --reason.")
    settings = common.settings()

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            try:
                record = await certificates.revoke(
                    session, folio=folio, reason=reason, now=utcnow()
                )
            except NotFound as exc:
                raise common.CommandError(f"No existe la constancia {folio}.") from exc
            return (
                f"Constancia {record.folio} revocada. Su página de verificación ya lo indica "
                f"(motivo: {record.revoke_reason})."
            )

    async def revoke_and_wait(database: Database) -> str:
        said = await work(database)
        await certificates.pages_agree()
        return said

    print(common.run(common.with_database(settings, revoke_and_wait, existing=True)))
    return 0


def register(sub: Any) -> None:
    """Add ``certificate`` to the parser."""
    parser = sub.add_parser("certificate", help="constancias de participación")
    actions = parser.add_subparsers(dest="certificate_command", required=True, metavar="ACCIÓN")
    revoke = actions.add_parser("revoke", help="revoca una constancia por su folio")
    revoke.add_argument("folio", help="folio de la constancia, p. ej. C23-000045")
    revoke.add_argument("--reason", required=True, help="motivo (se muestra en la verificación)")
    revoke.set_defaults(func=run)
