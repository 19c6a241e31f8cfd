"""Conversation replies turned into Bot API calls.

Texts go out as plain text (no parse mode), so nothing a citizen typed can break the
formatting or inject markup. Long texts are split at Telegram's 4,096-character limit.

Texts and edits go out through ``Bot.do_api_request`` with their keyboard as plain
JSON: nothing here reads the message Telegram sends back, and building it (and the
keyboard) as python-telegram-bot objects cost as much as the rest of the reply
(about 0.3 ms for a question with a dozen buttons, on every step of every
citizen). PTB warns when ``do_api_request`` is used for a method it has; that one
warning is silenced for the two methods used this way (``RAW_METHODS``). Errors
come back as the same ``TelegramError`` subclasses as from ``Bot.send_message``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.updates import CHANNEL
from pmd_domain.conversation.types import MAX_TEXT_CHARS, Button, Outgoing, Reply, split_text
from pmd_domain.digits import number
from pmd_domain.outbox_sender import OutboxSender, Refused, TryLater, Unreachable

log = logging.getLogger("pmd.bot")

MAX_CAPTION_CHARS = 1024
MAX_RETRY_WAIT_SECONDS = 30.0
NO_PREVIEW = {"is_disabled": True}
RAW_METHODS = ("sendMessage", "editMessageText")
# The message is a regular expression matched at the start of PTB's warning text
# (pyproject.toml repeats it for the tests, whose warning filters replace these).
for _method in RAW_METHODS:
    warnings.filterwarnings(
        "ignore", message=rf"Please use 'Bot\.{_method}'", category=PTBUserWarning
    )

Json = dict[str, Any]


def keyboard(rows: Sequence[Sequence[Button]]) -> Json | None:
    """The inline keyboard (Bot API JSON) of a reply's button rows; ``None`` when there are none."""
    if not rows:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": b.label, "url": b.url}
                if b.url
                else {"text": b.label, "callback_data": b.data}
                for b in row
            ]
            for row in rows
            if row
        ]
    }


class TelegramTransport:
    """Delivers one reply of a step through the Bot API (``pmd_domain.outbox_sender``).

    Telegram's errors become the sender's: a 429 is ``TryLater`` with its
    ``retry_after``; a timeout, a network error or a 5xx is ``TryLater``; 403 (the
    citizen blocked the bot) is ``Unreachable``; 400 is ``Refused``. An ``edit`` reply
    (the first of its step) replaces the pressed message, and becomes a new message
    when Telegram refuses the edit; when an edit is tried again and Telegram says the
    message already reads so, the first try did arrive.
    """

    channel = CHANNEL

    def __init__(self, bot: Bot):
        self.bot = bot

    async def deliver(self, outgoing: Outgoing, index: int) -> None:
        """Deliver ``outgoing.replies[index]`` to its chat."""
        reply = outgoing.replies[index]
        chat_id = int(outgoing.external_id)
        target = outgoing.edit_target
        try:
            if (
                (message_id := number(target or "")) is not None
                and index == _first_edit(outgoing.replies)
                and await _edit(self.bot, chat_id, message_id, reply, again=outgoing.attempts > 0)
            ):
                return
            await _send(self.bot, chat_id, reply)
        except RetryAfter as exc:
            raise TryLater("RetryAfter", after=retry_seconds(exc)) from None
        except Forbidden:
            raise Unreachable("Forbidden") from None
        except BadRequest as exc:  # a NetworkError subclass: before it
            raise Refused(f"BadRequest: {exc.message[:80]}") from None
        except TelegramError as exc:  # TimedOut, NetworkError (5xx), ...
            raise TryLater(type(exc).__name__) from None


async def deliver_stored(
    sender: OutboxSender, outgoing: Outgoing | None, *, query: CallbackQuery | None = None
) -> None:
    """Deliver a committed step's stored replies; answer ``query`` (always) meanwhile.

    The answer carries the replies' first notice; the answer and the replies travel
    side by side: one round trip less per press.
    """
    answering = None
    if query is not None:
        replies = outgoing.replies if outgoing is not None else ()
        notice = next((r.notice for r in replies if r.notice), None)
        answering = asyncio.create_task(answer_query(query, notice))
    try:
        if outgoing is not None:
            await sender.deliver(outgoing)
    finally:
        if answering is not None:
            await answering


async def render(
    bot: Bot,
    chat_id: int,
    replies: Sequence[Reply],
    *,
    query: CallbackQuery | None = None,
) -> None:
    """Send ``replies`` now, outside the outbox (staff commands, a preview); answer ``query``.

    A 429 is waited out once (up to 30 s); other failures are logged.
    """
    answering = None
    if query is not None:
        # The answer and the reply travel side by side: one round trip less per press.
        notice = next((r.notice for r in replies if r.notice), None)
        answering = asyncio.create_task(answer_query(query, notice))
    pressed = query.message if query is not None and isinstance(query.message, Message) else None
    outgoing = Outgoing(
        id=None,
        channel=CHANNEL,
        external_id=str(chat_id),
        replies=tuple(replies),
        edit_target=str(pressed.message_id) if pressed is not None else None,
    )
    transport = TelegramTransport(bot)
    try:
        for index in range(len(replies)):
            try:
                await transport.deliver(outgoing, index)
            except TryLater as later:
                if later.after is None or later.after > MAX_RETRY_WAIT_SECONDS:
                    raise
                await asyncio.sleep(later.after)
                await transport.deliver(outgoing, index)
    except (TryLater, Refused, Unreachable) as failure:
        log.info("reply not delivered", extra={"reason": str(failure)})
    finally:
        if answering is not None:
            await answering


async def answer_query(query: CallbackQuery, notice: str | None = None) -> None:
    """Answer a button press so the client stops waiting; a stale query is not an error."""
    try:
        await query.answer(text=notice[:200] if notice else None)
    except TelegramError as exc:
        log.info("callback answer failed", extra={"reason": type(exc).__name__})


def _first_edit(replies: Sequence[Reply]) -> int | None:
    """Only the first ``edit`` reply of a step replaces the pressed message."""
    return next((i for i, r in enumerate(replies) if r.edit), None)


async def _edit(bot: Bot, chat_id: int, message_id: int, reply: Reply, *, again: bool) -> bool:
    """Replace the pressed message with ``reply``; ``False`` when it must be sent instead."""
    if reply.document is not None or not reply.text or len(reply.text) > MAX_TEXT_CHARS:
        return False
    try:
        await _raw(
            bot,
            "editMessageText",
            chat_id=chat_id,
            message_id=message_id,
            text=reply.text,
            reply_markup=keyboard(reply.buttons),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        # "message is not modified": on a second try, the first one arrived. Else
        # (can't be edited: too old, deleted, ...) a new message says it instead.
        if again and "not modified" in exc.message:
            return True
        log.info("edit failed, sending instead", extra={"reason": exc.message[:80]})
        return False
    return True


async def _send(bot: Bot, chat_id: int, reply: Reply) -> None:
    markup = keyboard(reply.buttons)
    pieces = split_text(reply.text) if reply.text else []
    document = reply.document
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        # With a document the buttons go under the file, which comes after the text.
        buttons = markup if last and document is None else None
        await _raw(
            bot,
            "sendMessage",
            chat_id=chat_id,
            text=piece,
            reply_markup=buttons,
            link_preview_options=NO_PREVIEW,
        )
    if document is not None:
        with contextlib.suppress(TelegramError):  # only a "sending a file..." hint
            await bot.send_chat_action(chat_id=chat_id, action=ChatAction.UPLOAD_DOCUMENT)
        await bot.send_document(
            chat_id=chat_id,
            document=InputFile(document.content, filename=document.filename),
            caption=document.caption[:MAX_CAPTION_CHARS] or None,
            reply_markup=InlineKeyboardMarkup.de_json(markup, bot) if markup else None,
        )


async def _raw(bot: Bot, method: str, **params: Any) -> Any:
    """Call one of ``RAW_METHODS``; Telegram's answer comes back as JSON, unread."""
    assert method in RAW_METHODS
    return await bot.do_api_request(
        method, api_kwargs={key: value for key, value in params.items() if value is not None}
    )


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait (PTB gives an int or, with PTB_TIMEDELTA, a timedelta)."""
    wait = exc.retry_after
    return wait.total_seconds() if not isinstance(wait, int | float) else float(wait)
