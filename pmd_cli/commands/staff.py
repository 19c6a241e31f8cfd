"""``pmd staff``: the planning office's staff."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.digits import is_digits, number
from pmd_domain.errors import ConfiguredAdmin, InvalidEmail, NotAllowed
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.services import staff, staff_login
from web.panel.login import login_url


def run(args: argparse.Namespace) -> int:
    """Add, remove or list staff members."""
    settings = common.settings()
    if args.staff_command == "link":
        settings.check_for_serving()  # the link is signed with the secret, on the public URL

    async def work(database: Database) -> str:
        # The command line acts with the server's keys (audited as such): no member acts.
        by_cli: dict[str, Any] = {"actor_id": None, "admin_ids": settings.admin_ids}
        async with database.transaction() as session:
            if args.staff_command == "add":
                if args.user_id in settings.admin_ids:
                    raise common.CommandError(
                        f"{args.user_id} es administrador por PMD_ADMIN_IDS: su rol no cambia "
                        "aquí; quítalo de esa variable y reinicia el servicio."
                    )
                await staff.add_by(
                    session,
                    user_id=args.user_id,
                    role=args.role,
                    now=utcnow(),
                    name=args.name,
                    **by_cli,
                )
                return f"{args.user_id} ahora tiene el rol {args.role} ({_role_name(args.role)})."
            if args.staff_command == "add-web":
                try:
                    member = await staff.add_web_by(
                        session,
                        email=args.email,
                        role=args.role,
                        now=utcnow(),
                        name=args.name,
                        **by_cli,
                    )
                except InvalidEmail:
                    raise common.CommandError(f"«{args.email}» no es un correo válido.") from None
                return (
                    f"{member.email} ({member.name or 'sin nombre'}) ahora tiene el rol "
                    f"{member.role} ({_role_name(member.role)}), "
                    "solo en el panel web. Su enlace de entrada: "
                    f"pmd staff link {member.email}"
                )
            if args.staff_command == "link":
                user_id = await _member_id(session, args.member)
                try:
                    token = await staff_login.create_login_link(
                        session, user_id=user_id, admin_ids=settings.admin_ids, now=utcnow()
                    )
                except NotAllowed:
                    raise common.CommandError(
                        f"{args.member} no es parte del equipo; agrégalo con pmd staff add "
                        "o pmd staff add-web."
                    ) from None
                return login_url(settings.public_url, token)
            if args.staff_command == "remove":
                user_id = await _member_id(session, args.member)
                try:
                    removed = await staff.remove_by(session, user_id=user_id, **by_cli)
                except ConfiguredAdmin:
                    raise common.CommandError(
                        f"{args.member} es administrador por PMD_ADMIN_IDS; quítalo de esa "
                        "variable y reinicia el servicio."
                    ) from None
                if removed:
                    return f"{args.member} ya no es parte del equipo."
                return f"{args.member} no estaba en el equipo."
            rows = await staff.roster(session, admin_ids=settings.admin_ids)
            listed = [
                f"{m.user_id}\tadmin\t(PMD_ADMIN_IDS)"
                if m.configured
                else f"{m.email if m.web_only else m.user_id}\t{m.role}\t{m.name or ''}"
                for m in rows
            ]
            return "\n".join(listed) or "No hay personal registrado."

    # Listing or removing needs the team's records; adding (and a link for a member
    # configured by PMD_ADMIN_IDS) may start the database of a new installation.
    existing = args.staff_command in {"list", "remove"}
    print(common.run(common.with_database(settings, work, existing=existing)))
    return 0


def _role_name(role: str) -> str:
    """The role in Spanish words, as the bot and the panel say it."""
    return Catalogs.load().text(DEFAULT_LANGUAGE, f"staff.role.{role}")


async def _member_id(session: AsyncSession, member: str) -> int:
    """A Telegram user id as typed, or the id of the member with that e-mail address."""
    if is_digits(member):
        user_id = number(member, most=common.TELEGRAM_ID_DIGITS)
        if not user_id:
            raise common.CommandError(f"«{member}» no es un id de usuario de Telegram.")
        return user_id
    try:
        found = await staff.by_email(session, email=member)
    except InvalidEmail:
        found = None
    if found is None:
        raise common.CommandError(f"No hay nadie del equipo con el correo {member}.")
    return found.user_id


ROLE_HELP = "admin (administración), moderator (moderación) o analyst (análisis)"


def register(sub: Any) -> None:
    """Add ``staff`` to the parser."""
    parser = sub.add_parser("staff", help="personal de la oficina de planeación")
    actions = parser.add_subparsers(dest="staff_command", required=True, metavar="ACCIÓN")
    add = actions.add_parser("add", help="agrega o cambia el rol de una persona")
    add.add_argument("user_id", type=common.telegram_user, help="id de usuario de Telegram")
    add.add_argument("--role", required=True, choices=staff.ROLES, help=ROLE_HELP)
    add.add_argument("--name", help="su nombre, como lo verá el equipo")
    add.set_defaults(func=run)
    remove = actions.add_parser("remove", help="quita a una persona del equipo")
    remove.add_argument(
        "member", help="id de usuario de Telegram o correo de quien usa solo la web"
    )
    remove.set_defaults(func=run)
    web_only = actions.add_parser(
        "add-web", help="agrega a alguien solo para el panel web (sin Telegram), por correo"
    )
    web_only.add_argument("email", help="correo electrónico")
    web_only.add_argument("--role", required=True, choices=staff.ROLES, help=ROLE_HELP)
    web_only.add_argument("--name", help="su nombre, como lo verá el equipo")
    web_only.set_defaults(func=run)
    link = actions.add_parser("link", help="enlace de un solo uso al panel del personal (15 min)")
    link.add_argument("member", help="id de usuario de Telegram o correo de quien usa solo la web")
    link.set_defaults(func=run)
    listing = actions.add_parser("list", help="lista al personal")
    listing.set_defaults(func=run)
