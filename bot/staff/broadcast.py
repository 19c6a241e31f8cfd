"""Pausar / Reanudar / Cancelar on a campaign's progress message (``bc:<action>:<id>``).

Writing a campaign is a staff flow of the domain (``pmd_domain.conversation.staff.
broadcast``, wired by ``bot.staff.flows``); the progress message it leaves serves as
long as the campaign runs, so its buttons are not a screen's: each press is one call
of ``broadcasts.control`` (the role checked again there).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.broadcast import broadcast_worker
from bot.context import services_of
from bot.render import answer_query, render
from bot.staff.access import Context, staff_only
from pmd_domain.clock import utcnow
from pmd_domain.conversation.staff.broadcast import CONTROL, LANGUAGE, progress_reply
from pmd_domain.digits import number
from pmd_domain.errors import NotFound, WrongCampaignState
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import CampaignControl

PERMISSION = "broadcast"


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The buttons of progress messages (staff group)."""
    return [CallbackQueryHandler(control, pattern=rf"^{CONTROL}:")]


@staff_only(PERMISSION)
async def control(update: Update, context: Context, role: str) -> None:
    """Pausar / Reanudar / Cancelar on a progress message."""
    services = services_of(context)
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    action, _, raw = (query.data or "").removeprefix(f"{CONTROL}:").partition(":")
    campaign_id = number(raw)
    if action not in broadcasts.CONTROLS or campaign_id is None:
        await answer_query(query, services.catalogs.text(LANGUAGE, "broadcast.stale"))
        return
    try:
        async with services.database.transaction() as session:
            progress = await broadcasts.control(
                session,
                campaign_id=campaign_id,
                action=action,
                now=utcnow(),
                staff_id=update.effective_user.id if update.effective_user else None,
                admin_ids=services.settings.admin_ids,
            )
    except WrongCampaignState as exc:
        status = services.catalogs.text(LANGUAGE, f"broadcast.status.{exc.params.get('status')}")
        text = services.catalogs.text(
            LANGUAGE, "broadcast.error.state", id=campaign_id, status=status
        )
        await answer_query(query, text)
        return
    except NotFound:
        text = services.catalogs.text(LANGUAGE, "broadcast.error.not_found", id=campaign_id)
        await answer_query(query, text)
        return
    reply = progress_reply(services.catalogs, campaign_id, progress)
    await render(context.bot, chat.id, [reply], query=query)
    worker = broadcast_worker(context.application)
    if worker is not None and action == CampaignControl.RESUME:
        worker.wake()
