"""``/estadisticas``, ``/panel`` and ``/revocar``: one-shot staff commands."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import services_of
from bot.staff.access import PRIVATE_MESSAGE, Context, language_of, staff_only
from bot.staff.replies import say
from pmd_domain.clock import utcnow
from pmd_domain.conversation.staff import figures as staff_figures
from pmd_domain.errors import NotAllowed, NotFound, TextNotReadable
from pmd_domain.services import certificates, staff_login


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The one-shot staff commands (staff group)."""
    return [
        CommandHandler("estadisticas", figures, filters=PRIVATE_MESSAGE),
        CommandHandler("panel", panel, filters=PRIVATE_MESSAGE),
        CommandHandler("revocar", revoke, filters=PRIVATE_MESSAGE),
    ]


@staff_only("stats")
async def figures(update: Update, context: Context, role: str) -> None:
    """Totals, by pillar, waiting for moderation and today's participation."""
    services = services_of(context)
    text = await staff_figures.report(
        services.database,
        consultation=services.consultation,
        catalogs=services.catalogs,
        language=language_of(update, services.catalogs),
        now=utcnow(),
    )
    await say(update, context, text)


@staff_only("analyse")
async def panel(update: Update, context: Context, role: str) -> None:
    """A one-time login link into the staff analysis area."""
    services = services_of(context)
    lang = language_of(update, services.catalogs)
    assert update.effective_user is not None
    try:
        async with services.database.transaction() as session:
            token = await staff_login.create_login_link(
                session,
                user_id=update.effective_user.id,
                admin_ids=services.settings.admin_ids,
                now=utcnow(),
                permission="analyse",
            )
    except NotAllowed:
        await say(update, context, services.catalogs.text(lang, "staff.not_allowed"))
        return
    minutes = int(staff_login.LINK_TTL.total_seconds() // 60)
    url = services.links.panel_login(token)
    await say(update, context, services.catalogs.text(lang, "panel.link", minutes=minutes, url=url))


@staff_only("revoke")
async def revoke(update: Update, context: Context, role: str) -> None:
    """``/revocar FOLIO motivo``: the certificate's verification page then says so."""
    services = services_of(context)
    lang = language_of(update, services.catalogs)
    catalogs = services.catalogs
    args = list(context.args or [])
    if len(args) < 2:
        await say(update, context, catalogs.text(lang, "staff.revoke.usage"))
        return
    folio, reason = args[0].strip().upper()[:24], " ".join(args[1:])
    assert update.effective_user is not None
    try:
        async with services.database.transaction() as session:
            record = await certificates.revoke_by(
                session,
                actor_id=update.effective_user.id,
                admin_ids=services.settings.admin_ids,
                folio=folio,
                reason=reason,
                now=utcnow(),
            )
            text = catalogs.text(
                lang, "staff.revoke.done", folio=record.folio, reason=record.revoke_reason
            )
        await certificates.pages_agree()  # the text says every page shows it
    except NotFound:
        text = catalogs.text(lang, "staff.revoke.not_found", folio=folio)
    except TextNotReadable:
        text = catalogs.text(lang, "staff.revoke.usage")
    except NotAllowed:
        text = catalogs.text(lang, "staff.not_allowed")
    await say(update, context, text)
