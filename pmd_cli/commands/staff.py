"""``pmd staff``: the planning office's staff."""

from __future__ import annotations

import argparse
from typing import Any

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.errors import ConfiguredAdmin, NotAllowed
from pmd_domain.services import staff, staff_login
from web.panel.login import login_url


def run(args: argparse.Namespace) -> int:
    """Add, remove or list staff members."""
    settings = common.settings()

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            if args.staff_command == "add":
                await staff.add(
                    session, user_id=args.user_id, role=args.role, now=utcnow(), name=args.name
                )
                return f"{args.user_id} ahora es {args.role}."
            if args.staff_command == "link":
                try:
                    token = await staff_login.create_login_link(
                        session, user_id=args.user_id, admin_ids=settings.admin_ids, now=utcnow()
                    )
                except NotAllowed:
                    raise common.CommandError(
                        f"{args.user_id} no es parte del equipo; agrégalo con pmd staff add."
                    ) from None
                return login_url(settings.public_url, token)
            if args.staff_command == "remove":
                try:
                    removed = await staff.remove(
                        session, user_id=args.user_id, admin_ids=settings.admin_ids
                    )
                except ConfiguredAdmin:
                    raise common.CommandError(
                        f"{args.user_id} es administrador por PMD_ADMIN_IDS; quítalo de esa "
                        "variable y reinicia el servicio."
                    ) from None
                if removed:
                    return f"{args.user_id} ya no es parte del equipo."
                return f"{args.user_id} no estaba en el equipo."
            rows = await staff.roster(session, admin_ids=settings.admin_ids)
            listed = [
                f"{m.user_id}\tadmin\t(PMD_ADMIN_IDS)"
                if m.configured
                else f"{m.user_id}\t{m.role}\t{m.name or ''}"
                for m in rows
            ]
            return "\n".join(listed) or "No hay personal registrado."

    print(common.run(common.with_database(settings, work)))
    return 0


def register(sub: Any) -> None:
    """Add ``staff`` to the parser."""
    parser = sub.add_parser("staff", help="personal de la oficina de planeación")
    actions = parser.add_subparsers(dest="staff_command", required=True, metavar="ACCIÓN")
    add = actions.add_parser("add", help="agrega o cambia el rol de una persona")
    add.add_argument("user_id", type=int, help="id de usuario de Telegram")
    add.add_argument("--role", required=True, choices=["admin", "moderator", "analyst"])
    add.add_argument("--name")
    add.set_defaults(func=run)
    remove = actions.add_parser("remove", help="quita a una persona del equipo")
    remove.add_argument("user_id", type=int)
    remove.set_defaults(func=run)
    link = actions.add_parser("link", help="enlace de un solo uso al panel de análisis (15 min)")
    link.add_argument("user_id", type=int)
    link.set_defaults(func=run)
    listing = actions.add_parser("list", help="lista al personal")
    listing.set_defaults(func=run)
