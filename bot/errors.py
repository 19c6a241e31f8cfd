"""The bot's one error handler: log with context, answer kindly, never leak a traceback."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackContext

from bot.context import services_of
from bot.render import answer_query
from bot.updates import private_chat
from pmd_domain.logs import failure_fields

log = logging.getLogger("pmd.bot")


async def on_error(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Log the failure (ids only, no texts) and tell the citizen, in plain Spanish."""
    error = context.error
    chat = private_chat(update) if isinstance(update, Update) else None
    log.error(
        "update failed",
        extra={
            "update_id": update.update_id if isinstance(update, Update) else None,
            "chat_id": chat.id if chat else None,
            **failure_fields(error),
        },
    )
    if not isinstance(update, Update) or chat is None:
        return
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    text = services_of(context).catalogs.text("es", "telegram.error")
    try:
        await context.bot.send_message(chat_id=chat.id, text=text)
    except TelegramError as exc:
        log.warning("error message not delivered", extra={"reason": type(exc).__name__})
