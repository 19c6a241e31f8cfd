"""Sends the notification queue (e.g. proposal outcomes) to citizens on Telegram.

The claiming, the rounds and the loop are ``pmd_domain.notification_sender``'s; this
module gives it Telegram's way of sending one notification. A passing failure
(network, 429) puts the notification back and ends the round; a citizen who blocked
the bot is marked unreachable; anything else is logged and dropped.
"""

from __future__ import annotations

import asyncio
from functools import partial

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from pmd_domain import notification_sender
from pmd_domain.campaign_transport import Blocked, Failed, Hold
from pmd_domain.db import Database
from pmd_domain.digits import number
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.services.notifications import Pending

CHANNEL = "telegram"


async def send_notification(bot: Bot, item: Pending, text: str) -> None:
    """Send one notification's text to its Telegram chat."""
    chat_id = item.external_id or ""
    telegram_chat = number(chat_id, signed=True)
    if telegram_chat is None:
        raise Failed("not a Telegram chat")
    try:
        await bot.send_message(
            chat_id=telegram_chat,
            text=text[:4096],
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    except Forbidden:
        raise Blocked() from None
    except BadRequest as exc:  # a NetworkError subclass: before it
        raise Failed(str(exc)) from None
    except (RetryAfter, NetworkError):
        raise Hold(0.0) from None
    except TelegramError as exc:
        raise Failed(str(exc)) from None


async def send_pending_notifications(
    bot: Bot, database: Database, catalogs: Catalogs, *, limit: int = 50, links: Links | None = None
) -> int:
    """Send up to ``limit`` pending notifications; how many were delivered."""
    return await notification_sender.send_pending(
        database,
        catalogs,
        channel=CHANNEL,
        send=partial(send_notification, bot),
        limit=limit,
        links=links,
    )


async def notification_loop(
    bot: Bot,
    database: Database,
    catalogs: Catalogs,
    *,
    interval: float = 10.0,
    wake: asyncio.Event | None = None,
    links: Links | None = None,
) -> None:
    """Send pending notifications every ``interval`` seconds until cancelled (start it as a task)."""
    await notification_sender.notification_loop(
        database,
        catalogs,
        channel=CHANNEL,
        send=partial(send_notification, bot),
        interval=interval,
        wake=wake,
        links=links,
    )


class Notifier(notification_sender.Notifier):
    """The notification loop of one bot process: started with the bot, woken after a commit."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        catalogs: Catalogs,
        *,
        interval: float = 10.0,
        links: Links | None = None,
    ):
        super().__init__(
            database,
            catalogs,
            channel=CHANNEL,
            send=partial(send_notification, bot),
            interval=interval,
            links=links,
        )
