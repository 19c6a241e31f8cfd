"""Who may run a staff handler, checked on the server for every update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackContext, filters

from bot.context import notifier_of, services_of
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.services import staff

Context = CallbackContext[Any, Any, Any, Any]
StaffCallback = Callable[[Update, Context, str], Awaitable[None]]
# Staff commands: new messages in private chats (not edits, not groups).
PRIVATE_MESSAGE = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE


async def role_for(update: Update, context: Context, permission: str) -> str | None:
    """The role of the update's sender if it grants ``permission`` in a private chat."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != chat.PRIVATE:
        return None
    services = services_of(context)
    async with services.database.reading() as session:
        role = await staff.role_of(session, user_id=user.id, admin_ids=services.settings.admin_ids)
    return role if staff.may(role, permission) else None


def staff_only(
    permission: str,
) -> Callable[[StaffCallback], Callable[[Update, Context], Coroutine[Any, Any, None]]]:
    """Run the handler only for staff whose role grants ``permission``.

    Anyone else gets nothing from here: the update goes on to the citizen handler,
    which answers as to any unknown command. After a staff handler ran, the update
    stops, so the citizen conversation never sees it. The wrapped callback receives
    the role as a third argument.
    """

    def decorate(callback: StaffCallback) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        @wraps(callback)
        async def guarded(update: Update, context: Context) -> None:
            role = await role_for(update, context, permission)
            if role is None:
                return
            await callback(update, context, role)
            raise ApplicationHandlerStop

        return guarded

    return decorate


def language_of(update: Update, catalogs: Catalogs) -> str:
    """The staff member's language: their Telegram client's if there is a catalogue for it."""
    user = update.effective_user
    code = (user.language_code or "").lower().split("-")[0] if user else ""
    return code if code in catalogs.messages else DEFAULT_LANGUAGE


def wake_notifications(context: Context) -> None:
    """A decision queued a message for a citizen: send it now rather than at the next round."""
    notifier = notifier_of(context.application)
    if notifier is not None:
        notifier.wake()
