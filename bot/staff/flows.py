"""The staff flows in the bot: an Update in, the domain's staff conversation, replies out.

Every private message and every staff button (``s<step>.<run>:…``) passes here first
(group ``FLOW_GROUP``, before the staff commands and the citizen conversation).
Whether it belongs to a staff flow (``/moderar``, ``/difundir``, a typed reason, a
campaign being written) is the domain's decision
(``pmd_domain.conversation.staff``), read from the database in whichever process
the update arrives: a flow started behind one process of a load balancer is
finished by another. Everybody without a flow in force (every citizen) costs one
primary-key read here (a glance: on SQLite, on the event loop) and goes on untouched; a staff step runs in one write
transaction and stops the update.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, MessageHandler

from bot.broadcast import broadcast_worker, send_campaign
from bot.context import Services, services_of
from bot.inbound import step_patience
from bot.render import render
from bot.staff.access import PRIVATE_MESSAGE, Context, wake_notifications
from bot.updates import CHANNEL, to_inbound
from pmd_domain.clock import utcnow
from pmd_domain.conversation.staff import BUTTON, StaffConversation, StaffOutcome
from pmd_domain.conversation.types import Inbound
from pmd_domain.db.models import Campaign
from pmd_domain.services.staff_drafts import DraftConflict

# Before the staff commands (-1): in a PTB group only the first matching handler runs.
FLOW_GROUP = -2


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The handlers of ``FLOW_GROUP``: every new private message, every staff button."""
    return [
        MessageHandler(PRIVATE_MESSAGE, step),
        CallbackQueryHandler(step, pattern=BUTTON),
    ]


def conversation(services: Services) -> StaffConversation:
    """The staff conversation over this bot's consultation, texts and settings."""
    return StaffConversation(
        consultation=services.consultation,
        catalogs=services.catalogs,
        links=services.links,
        admin_ids=services.settings.admin_ids,
        channel=CHANNEL,  # its updates' ids recorded as the citizen conversation's
    )


def staff_inbound(update: Update) -> Inbound | None:
    """The conversation input of ``update``; a photo keeps its caption and file id."""
    incoming = to_inbound(update)
    if incoming is None:
        return None
    message = update.message
    if message is not None and message.photo and incoming.inbound.kind == "media":
        caption = message.caption or ""
        return replace(incoming.inbound, text=caption, data=message.photo[-1].file_id)
    return incoming.inbound


async def step(update: Update, context: Context) -> None:
    """Hand the update to the sender's staff flow, if it is for one; otherwise let it through."""
    user, chat, inbound = update.effective_user, update.effective_chat, staff_inbound(update)
    if user is None or chat is None or inbound is None:
        return
    services = services_of(context)
    flows, now = conversation(services), utcnow()
    # Through a database outage this waits as the citizen's step would (step_patience).
    wanted = await flows.wants(
        services.database, user_id=user.id, inbound=inbound, now=now, patience=step_patience()
    )
    if not wanted:
        return
    outcome: StaffOutcome | None = StaffOutcome(replies=())
    # Another process may take this flow's step first: its answer stands.
    with contextlib.suppress(DraftConflict):
        # A campaign's recipient snapshot may be many rows: off the event loop.
        async with services.database.transaction(bulk=True) as session:
            outcome = await flows.handle(
                session, user_id=user.id, chat_id=chat.id, inbound=inbound, now=now
            )
    if outcome is None:
        return  # no longer staff's (the role changed meanwhile): the citizen's
    await deliver(update, context, outcome)
    raise ApplicationHandlerStop


async def deliver(update: Update, context: Context, outcome: StaffOutcome) -> None:
    """Send the replies (a campaign's preview after the first one) and wake who must act."""
    chat = update.effective_chat
    assert chat is not None
    replies, query = outcome.replies, update.callback_query
    if outcome.preview is not None:
        await render(context.bot, chat.id, replies[:1], query=query)
        content = outcome.preview
        campaign = Campaign(
            text=content.text,
            photo=content.photo,
            button_text=content.button_text,
            button_url=content.button_url,
        )
        await send_campaign(context.bot, campaign, chat.id)
        replies, query = replies[1:], None
    await render(context.bot, chat.id, replies, query=query)
    if outcome.notified:
        wake_notifications(context)
    worker = broadcast_worker(context.application)
    if outcome.queued and worker is not None:
        worker.wake()
