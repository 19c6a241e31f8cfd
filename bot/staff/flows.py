"""The staff flows in the bot: an Update in, the domain's staff conversation, replies out.

Every private message and every staff button (``s<step>.<run>:…``) passes here first
(group ``FLOW_GROUP``, before the staff commands and the citizen conversation).
Whether it belongs to a staff flow (``/moderar``, ``/difundir``, a typed reason, a
campaign being written) is the domain's decision
(``pmd_domain.conversation.staff``), read from the database in whichever process
the update arrives: a flow started behind one process of a load balancer is
finished by another. Everybody without a flow in force (every citizen) costs one
primary-key read here (a glance: on SQLite, on the event loop) and goes on untouched; a staff step runs in one write
transaction, which also stores its replies in the outbox (``stored``), and stops the
update; the replies then go out through the citizens' outbox sender.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, MessageHandler

from bot.broadcast import broadcast_worker, send_campaign
from bot.context import Services, commits_of, sender_of, services_of
from bot.inbound import step_patience
from bot.render import deliver_stored, render
from bot.staff.access import PRIVATE_MESSAGE, Context, wake_notifications
from bot.updates import CHANNEL, to_inbound
from pmd_domain.clock import utcnow
from pmd_domain.conversation.staff import BUTTON, StaffConversation, StaffOutcome
from pmd_domain.conversation.types import Inbound, Outgoing
from pmd_domain.db.models import Campaign
from pmd_domain.services import outbox
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
    outgoing: Outgoing | None = None
    # Another process may take this flow's step first: its answer stands.
    with contextlib.suppress(DraftConflict):
        # A campaign's recipient snapshot may be many rows: off the event loop.
        async with services.database.transaction(bulk=True) as session:
            outcome = await flows.handle(
                session, user_id=user.id, chat_id=chat.id, inbound=inbound, now=now
            )
            if outcome is not None:
                outgoing = await stored(session, outcome, chat_id=chat.id, inbound=inbound, now=now)
    if outcome is None:
        return  # no longer staff's (the role changed meanwhile): the citizen's
    commits_of(context.application).committed(update.update_id)
    await deliver(update, context, outcome, outgoing)
    raise ApplicationHandlerStop


async def stored(
    session: AsyncSession, outcome: StaffOutcome, *, chat_id: int, inbound: Inbound, now: datetime
) -> Outgoing | None:
    """The step's replies, stored in the outbox in its transaction, as a citizen's are.

    They then go out at least once: what Telegram does not take at once is tried
    again, here or by the next process. An update handled before gets again what it
    stored then, if that did not get through. A campaign's preview goes out at once
    instead, between the first reply and the rest (nothing is stored).
    """
    if outcome.preview is not None:
        return None
    if outcome.duplicate:
        if inbound.update_id is None:
            return None
        return await outbox.replay(session, channel=CHANNEL, update_id=inbound.update_id, now=now)
    if not outcome.replies:
        return None
    return await outbox.store(
        session,
        channel=CHANNEL,
        external_id=str(chat_id),
        update_id=inbound.update_id,
        edit_target=inbound.message_ref,
        replies=outcome.replies,
        now=now,
    )


async def deliver(
    update: Update, context: Context, outcome: StaffOutcome, outgoing: Outgoing | None
) -> None:
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
        await render(context.bot, chat.id, replies[1:])
    else:
        await deliver_stored(sender_of(context.application), outgoing, query=query)
    if outcome.notified:
        wake_notifications(context)
    worker = broadcast_worker(context.application)
    if outcome.queued and worker is not None:
        worker.wake()
