"""Sends the notification outbox (e.g. proposal outcomes) to citizens on Telegram.

Each notification is claimed in the database before it is sent, so several bot
processes can run this at once without sending anything twice. A passing failure
(network, 429) puts the notification back and ends the round; a citizen who
blocked the bot is marked unreachable; anything else is logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from pmd_domain.aio import cancel_and_wait
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import notifications

log = logging.getLogger(__name__)
CHANNEL = "telegram"


async def send_pending_notifications(
    bot: Bot, database: Database, catalogs: Catalogs, *, limit: int = 50, links: Links | None = None
) -> int:
    """Send up to ``limit`` pending notifications; how many were delivered."""
    async with database.reading() as session:
        batch = await notifications.pending(session, limit=limit, channel=CHANNEL)
    delivered = 0
    for item in batch:
        async with database.transaction() as session:
            if not await notifications.claim(session, notification_id=item.id, now=utcnow()):
                continue  # another process took it
        chat_id = item.external_id
        if item.erased or not chat_id or not chat_id.lstrip("-").isdigit():
            continue
        text = notifications.render(
            catalogs,
            language=item.language,
            text_key=item.text_key,
            params=item.params,
            links=links,
        )
        try:
            await bot.send_message(
                chat_id=int(chat_id),
                text=text[:4096],
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except Forbidden:
            async with database.transaction() as session:
                await notifications.mark_unreachable(session, participant_id=item.participant_id)
            continue
        except BadRequest as exc:
            log.warning("notification dropped", extra={"notification": item.id, "error": str(exc)})
            continue
        except (RetryAfter, NetworkError):
            async with database.transaction() as session:
                await notifications.release(session, notification_id=item.id)
            log.info("notifications paused", extra={"notification": item.id})
            break
        except TelegramError as exc:
            log.warning("notification dropped", extra={"notification": item.id, "error": str(exc)})
            continue
        delivered += 1
    return delivered


async def notification_loop(
    bot: Bot,
    database: Database,
    catalogs: Catalogs,
    *,
    interval: float = 10.0,
    wake: asyncio.Event | None = None,
    links: Links | None = None,
) -> None:
    """Send pending notifications every ``interval`` seconds until cancelled (start it as a task).

    Setting ``wake`` starts the next round at once (this process just queued something);
    notifications queued by other processes wait at most ``interval``.
    """
    wake = wake or asyncio.Event()
    failures = RepeatedLog()  # a database that is down: a line per interval
    while True:
        wake.clear()
        try:
            while await send_pending_notifications(bot, database, catalogs, links=links) > 0:
                pass  # a full round: there may be more waiting
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures.failure(log, "notification round failed", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)


class Notifier:
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
        self._run = partial(
            notification_loop, bot, database, catalogs, interval=interval, links=links
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (once; a second call does nothing)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(wake=self._wake), name="notifications")

    def wake(self) -> None:
        """Send what was just queued without waiting for the next round."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the loop and wait for it (a message in flight is then not sent twice)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
