"""The one handler of the citizen flow: update in, conversation step, replies out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackContext

from bot.context import commits_of, sender_of, services_of
from bot.inbound import step_patience
from bot.render import answer_query, deliver_stored
from bot.updates import CHANNEL, Incoming, to_inbound
from pmd_domain.clock import utcnow
from pmd_domain.conversation.types import Inbound, Outcome, Outgoing

log = logging.getLogger("pmd.bot")


class ConversationEngine(Protocol):
    """What the handler needs of ``pmd_domain.conversation.Conversation``."""

    async def handle(
        self,
        session: AsyncSession,
        *,
        channel: str,
        external_id: str,
        inbound: Inbound,
        now: datetime,
    ) -> Outcome:
        """Run one step of the chat ``external_id`` in ``session``'s transaction."""
        ...


class CitizenHandler:
    """Callback for every citizen update (group 0): convert, step, commit, then deliver.

    The step runs in a write transaction that ``Database.write`` tries again while the
    database fails for a passing reason (``step_patience``); it stores the replies in
    the outbox. Once it has committed, the update may be confirmed to Telegram and
    the replies go out (``OutboxSender.deliver``), so the bot never confirms
    something that was not stored and never loses a reply it stored.
    """

    def __init__(self, conversation: ConversationEngine):
        self.conversation = conversation

    async def __call__(self, update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        """Handle one update; groups, channels and unknown update types are ignored."""
        incoming = to_inbound(update)
        query = update.callback_query
        if incoming is None:
            if query is not None:
                await answer_query(query)
            return
        database = services_of(context).database

        async def step(session: AsyncSession) -> Outcome:
            return await self.conversation.handle(
                session,
                channel=CHANNEL,
                external_id=incoming.external_id,
                inbound=incoming.inbound,
                now=utcnow(),
            )

        outcome = await database.write(step, patience=step_patience())
        commits_of(context.application).committed(update.update_id)
        if log.isEnabledFor(logging.DEBUG):
            # chat_id is written as a keyed hash by the log formatter (pmd_domain.logs)
            log.debug(
                "citizen step",
                extra={
                    "chat_id": incoming.external_id,
                    "kind": incoming.inbound.kind,
                    "replies": len(outcome.replies),
                },
            )
        await deliver_stored(
            sender_of(context.application), _outgoing(incoming, outcome), query=query
        )


def _outgoing(incoming: Incoming, outcome: Outcome) -> Outgoing | None:
    """What to deliver: the stored replies (an engine that stores none: its replies)."""
    if outcome.outgoing is not None or outcome.duplicate:
        return outcome.outgoing
    if not outcome.replies:
        return None
    return Outgoing(
        id=None,
        channel=CHANNEL,
        external_id=incoming.external_id,
        replies=outcome.replies,
        edit_target=incoming.inbound.message_ref,
    )
