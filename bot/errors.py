"""The bot's one error handler: log with context, answer kindly, never leak a traceback."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackContext

from bot.context import services_of
from bot.render import answer_query
from bot.updates import private_chat
from pmd_domain.db.faults import describe, is_transient
from pmd_domain.i18n import DEFAULT_LANGUAGE
from pmd_domain.logs import failure_fields

log = logging.getLogger("pmd.bot")


async def on_error(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Log the failure (ids and the fault's name, no texts) and tell the citizen.

    A step reaches this only when it could not be done: the database kept failing
    for the whole patience of ``Database.write``, or something is wrong in the code.
    The message says so and asks to send the message again; nothing is lost by it
    (a draft stays where it was; ``/ayuda`` shows the question again). The update
    then stops: a failure in an earlier handler group (a staff step) is answered once,
    and the citizen conversation does not take the same update afterwards.
    """
    error = context.error
    chat = private_chat(update) if isinstance(update, Update) else None
    services = services_of(context)
    if error is not None and is_transient(error):
        # The database is down or full: one line per interval, not one per update.
        services.database.failures.log(
            log, logging.ERROR, "update failed: the database kept failing", **describe(error)
        )
    else:
        # The traceback's frames, not the exception's message: messages can carry what
        # a citizen typed.
        log.error(
            "update failed",
            extra={
                "update_id": update.update_id if isinstance(update, Update) else None,
                **failure_fields(error),
            },
        )
    if not isinstance(update, Update) or chat is None:
        raise ApplicationHandlerStop
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    user = update.effective_user
    language = (user.language_code or "").split("-")[0] if user else ""
    if language not in services.catalogs.messages:
        language = DEFAULT_LANGUAGE
    text = services.catalogs.text(language, "telegram.error")
    try:
        await context.bot.send_message(chat_id=chat.id, text=text)
    except TelegramError as exc:
        log.warning("error message not delivered", extra={"reason": type(exc).__name__})
    raise ApplicationHandlerStop
