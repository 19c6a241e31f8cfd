"""The one handler of the citizen flow: update in, conversation step, replies out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackContext

from bot.context import services_of
from bot.render import answer_query, render
from bot.updates import CHANNEL, to_inbound
from pmd_domain.clock import utcnow
from pmd_domain.conversation.types import Inbound, Outcome

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
    """Callback for every citizen update (group 0): convert, step, commit, then render."""

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
        services = services_of(context)
        async with services.database.transaction() as session:
            outcome = await self.conversation.handle(
                session,
                channel=CHANNEL,
                external_id=incoming.external_id,
                inbound=incoming.inbound,
                now=utcnow(),
            )
        # Rendered only once the step is committed: a reply never announces lost data.
        replies = () if outcome.duplicate else outcome.replies
        if log.isEnabledFor(logging.DEBUG):
            # chat_id is written as a keyed hash by the log formatter (pmd_domain.logs)
            log.debug(
                "citizen step",
                extra={
                    "chat_id": incoming.external_id,
                    "kind": incoming.inbound.kind,
                    "replies": len(replies),
                },
            )
        await render(context.bot, int(incoming.external_id), replies, query=query)
