"""``pmd codes issue``: a printable sheet of single-use in-person verification codes."""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from pmd_cli import common
from pmd_domain.certificates.code_cards import render_code_cards
from pmd_domain.clock import utcnow
from pmd_domain.consultation.schema import IN_PERSON_DAYS_MAX
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.services import verification
from web.chat import chat_url


def run_issue(args: argparse.Namespace) -> int:
    """Issue ``--count`` codes and write their cards to ``--output`` (a PDF)."""
    if not 1 <= args.count <= verification.MAX_BATCH:
        raise common.CommandError(f"--count debe estar entre 1 y {verification.MAX_BATCH:,}.")
    if args.days is not None and not 1 <= args.days <= IN_PERSON_DAYS_MAX:
        raise common.CommandError(f"--days debe estar entre 1 y {IN_PERSON_DAYS_MAX}.")
    target = Path(args.output)
    if target.suffix.lower() != ".pdf":
        raise common.CommandError("--output debe ser un archivo .pdf")
    settings = common.settings()
    settings.check_for_serving()  # the codes are keyed with the secret; the cards link
    # The codes exist only in that file: where it cannot be written, none are issued.
    common.new_file(target, force=args.force, database_url=settings.database_url)
    consultation = common.consultation(settings)
    days = args.days if args.days is not None else consultation.integrity.codes.in_person_days
    now = utcnow()

    async def work(database: Database) -> list[str]:
        async with database.transaction() as session:
            codes = await verification.issue_in_person(
                session,
                secret=settings.secret_key,
                consultation=consultation,
                count=args.count,
                now=now,
                days=days,
            )
            pdf = render_code_cards(
                [verification.shown(code) for code in codes],
                consultation=consultation,
                expires=now + timedelta(days=days),
                chat_url=chat_url(settings.public_url),
                catalogs=Catalogs.load(),
            )
            # Written beside the target before the commit (a file that cannot be written
            # issues nothing), and put in its place after it (a failed commit leaves an
            # earlier sheet as it was).
            common.write_private(partial, pdf, named=target)
            return codes

    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        codes = common.run(common.with_database(settings, work))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    print(
        f"{len(codes):,} {'código' if len(codes) == 1 else 'códigos'} de verificación en "
        f"{target} (vencen en {days} {'día' if days == 1 else 'días'}). "
        "Solo existen en ese archivo: guárdalo como un documento de valor y destrúyelo "
        "cuando los entregues."
    )
    return 0


def register(sub: Any) -> None:
    """Add ``codes`` to the parser."""
    parser = sub.add_parser("codes", help="códigos de verificación en persona")
    actions = parser.add_subparsers(dest="codes_command", required=True, metavar="ACCIÓN")
    issue = actions.add_parser("issue", help="emite códigos y los imprime en tarjetas (PDF)")
    issue.add_argument("--count", type=int, required=True, help="cuántos códigos")
    issue.add_argument("--output", required=True, help="archivo PDF de las tarjetas")
    issue.add_argument(
        "--days", type=int, help="días de vigencia (por omisión, los de la consulta)"
    )
    issue.add_argument("--force", action="store_true", help="reemplaza el archivo si existe")
    issue.set_defaults(func=run_issue)
