"""A staff member's next message, routed by the draft stored for them in the database.

A rejection waiting for its typed reason or a campaign being written takes the staff
member's messages before the citizen conversation does. Which one (if any) is read
from ``staff_drafts`` for every private message, in whichever process the message
arrives: there is no per-process list of who is staff, so a flow started behind one
process of a load balancer is finished by another. Everybody without a draft in
force (every citizen) costs one primary-key read here and goes on untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, MessageHandler

from bot.context import services_of
from bot.inbound import step_patience
from bot.staff import broadcast, moderation
from bot.staff.access import PRIVATE_MESSAGE, Context, role_for
from pmd_domain.clock import utcnow
from pmd_domain.services import staff_drafts
from pmd_domain.services.staff_drafts import Kind

# Before the staff commands (-1): in a PTB group only the first matching handler runs.
DRAFT_GROUP = -2
CANCEL = "cancelar"
Step = Callable[[Update, Context, dict[str, Any]], Awaitable[None]]
# kind -> (permission, the step for a message, the step for /cancelar)
ROUTES: dict[str, tuple[str, Step, Step]] = {
    Kind.BROADCAST: (broadcast.PERMISSION, broadcast.on_message, broadcast.discard),
    Kind.REJECT: ("moderate", moderation.reason_typed, moderation.cancel_reason),
}


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The one handler of ``DRAFT_GROUP``: every new private message passes here."""
    return [MessageHandler(PRIVATE_MESSAGE, route)]


def _command(update: Update) -> str | None:
    """The command of a message (``/cancelar@bot`` → ``cancelar``), None for other messages."""
    text = update.message.text if update.message else None
    if not text or not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()


async def route(update: Update, context: Context) -> None:
    """Hand the message to the sender's draft in force, if any; otherwise let it through."""
    user = update.effective_user
    if user is None:
        return

    async def look(session: AsyncSession) -> tuple[str, dict[str, Any]] | None:
        draft = await staff_drafts.current(session, user_id=user.id, now=utcnow())
        if draft is None or draft.kind not in ROUTES:
            return None
        return draft.kind, staff_drafts.data_of(draft)

    # Through a database outage this waits as the citizen's step would (step_patience).
    found = await services_of(context).database.read(look, patience=step_patience())
    if found is None:
        return
    kind, data = found
    permission, on_message, on_cancel = ROUTES[kind]
    command = _command(update)
    if command not in (None, CANCEL):
        return  # other commands (/moderar, /difundir...) go to their handlers
    if kind == Kind.REJECT and command is None and not (update.message and update.message.text):
        return  # a photo or sticker is not a reason
    if await role_for(update, context, permission) is None:
        return
    # Another process may take this draft's step first: its answer stands.
    with contextlib.suppress(staff_drafts.DraftConflict):
        await (on_cancel if command == CANCEL else on_message)(update, context, data)
    raise ApplicationHandlerStop
