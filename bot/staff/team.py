"""``/staff``: the staff list, ``/staff agregar ID ROL [nombre]``, ``/staff quitar ID`` (admins)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import services_of
from bot.menu import publish_staff_menu
from bot.staff.access import PRIVATE_MESSAGE, Context, language_of, staff_only
from bot.staff.replies import say
from pmd_domain.clock import utcnow
from pmd_domain.digits import number
from pmd_domain.errors import DomainError
from pmd_domain.i18n import Catalogs
from pmd_domain.services import staff

ADD = ("agregar", "add")
REMOVE = ("quitar", "remove")
NAME_MAX_CHARS = 120


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """``/staff`` (staff group)."""
    return [CommandHandler("staff", team, filters=PRIVATE_MESSAGE)]


@staff_only("manage_staff")
async def team(update: Update, context: Context, role: str) -> None:
    """List the staff, or add / remove a member."""
    services = services_of(context)
    catalogs, lang = services.catalogs, language_of(update, services.catalogs)
    args = list(context.args or [])
    assert update.effective_user is not None
    actor, admin_ids = update.effective_user.id, services.settings.admin_ids
    if not args:
        async with services.database.reading() as session:
            members = await staff.roster(session, admin_ids=admin_ids)
        await say(update, context, roster_text(catalogs, lang, members))
        return
    action, target = args[0].lower(), _user_id(args[1]) if len(args) > 1 else None
    new_role = staff.role_named(args[2]) if len(args) > 2 else None
    adding = action in ADD and target is not None and new_role is not None
    removing = action in REMOVE and target is not None and len(args) == 2
    if not (adding or removing) or target is None:
        await say(update, context, catalogs.text(lang, "staff.members.usage"))
        return
    role_name = catalogs.text(lang, f"staff.role.{new_role}") if new_role else ""
    try:
        async with services.database.transaction() as session:
            if adding:
                assert new_role is not None
                name = " ".join(args[3:])[:NAME_MAX_CHARS] or None
                await staff.add_by(
                    session,
                    actor_id=actor,
                    admin_ids=admin_ids,
                    user_id=target,
                    role=new_role,
                    now=utcnow(),
                    name=name,
                )
                text = catalogs.text(lang, "staff.members.added", user_id=target, role=role_name)
            elif await staff.remove_by(
                session, actor_id=actor, admin_ids=admin_ids, user_id=target
            ):
                text = catalogs.text(lang, "staff.members.removed", user_id=target)
            else:
                text = catalogs.text(lang, "staff.members.not_member", user_id=target)
    except DomainError as exc:
        await say(update, context, catalogs.text(lang, exc.code, user_id=target))
        return
    await say(update, context, text)
    # The member's own command menu follows the new role (the public one when removed).
    await publish_staff_menu(context.bot, catalogs, user_id=target, role=new_role)


def _user_id(raw: str) -> int | None:
    """A Telegram user id as typed (digits only, at most 15 of them)."""
    return number(raw, most=15)


def roster_text(catalogs: Catalogs, lang: str, members: list[staff.Member]) -> str:
    """The staff list: id, role, name; bootstrap admins marked."""
    lines = [catalogs.text(lang, "staff.members.title", count=len(members))]
    for member in members:
        marks = [catalogs.text(lang, f"staff.role.{member.role}")]
        if member.name:
            marks.append(member.name)
        if member.configured:
            marks.append(catalogs.text(lang, "staff.members.configured"))
        lines.append(f"{member.user_id} · " + " · ".join(marks))
    lines.append("")
    lines.append(catalogs.text(lang, "staff.members.usage"))
    return "\n".join(lines)
