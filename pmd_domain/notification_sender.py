"""Sends the notification queue (e.g. proposal outcomes) of one channel.

Each notification is taken in the database for a lease before it is sent and marked
sent after, so several processes can run this at once without sending anything twice,
and a crash or a failure on the way delays a notification instead of losing it. The
channel gives a ``Send`` that delivers one notification's text and raises what
``pmd_domain.campaign_transport`` defines: ``Hold`` (a passing failure: the
notification is put back and the round ends), ``Blocked`` (the citizen is marked
unreachable) or ``Failed`` (logged and dropped). Telegram's is in ``bot/notify.py``,
WhatsApp's (a template outside the 24-hour window) in ``whatsapp/notify.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from pmd_domain.aio import cancel_and_wait, raise_if_cancelled, wait_event
from pmd_domain.campaign_transport import Blocked, Failed, Hold
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import notifications
from pmd_domain.services.notifications import Pending

log = logging.getLogger("pmd.notify")

# Deliver one notification (its rendered text) to its citizen.
Send = Callable[[Pending, str], Awaitable[None]]


async def send_pending(
    database: Database,
    catalogs: Catalogs,
    *,
    channel: str,
    send: Send,
    limit: int = 50,
    links: Links | None = None,
) -> int:
    """Send up to ``limit`` pending notifications of ``channel``; how many were delivered.

    Each is taken for ``notifications.LEASE`` before it is sent and marked once it
    went. What fails on the way (the send, the write that marks it, the process) stays
    taken until the lease ends and is sent then: nothing is lost.
    """
    async with database.reading() as session:
        batch = await notifications.pending(session, now=utcnow(), limit=limit, channel=channel)
    delivered = 0
    for item in batch:
        async with database.transaction() as session:
            if not await notifications.claim(session, notification_id=item.id, now=utcnow()):
                continue  # another process took it
        if item.erased or not item.external_id:
            await _settle(database, item, unreachable=False)
            continue
        text = notifications.render(
            catalogs,
            language=item.language,
            text_key=item.text_key,
            params=item.params,
            links=links,
        )
        try:
            await send(item, text)
        except Blocked:
            await _settle(database, item, unreachable=True)
            continue
        except Hold:
            async with database.transaction() as session:
                await notifications.release(session, notification_id=item.id)
            log.info("notifications paused", extra={"notification": item.id})
            break
        except Failed as failed:
            log.warning(
                "notification dropped", extra={"notification": item.id, "error": failed.reason}
            )
            await _settle(database, item, unreachable=False)
            continue
        except Exception as error:
            raise_if_cancelled()
            # Not given up: it stays taken and goes again once its lease ends.
            log.warning(
                "notification failed, tried again later",
                extra={"notification": item.id, "error": type(error).__name__},
            )
            continue
        await _settle(database, item, unreachable=False)
        delivered += 1
    return delivered


async def _settle(database: Database, item: Pending, *, unreachable: bool) -> None:
    """Mark it done (and its citizen unreachable). Should the write fail, the lease ends
    and the notification goes once more: a duplicate rather than a loss."""
    async with database.transaction() as session:
        await notifications.mark_sent(session, notification_id=item.id, now=utcnow())
        if unreachable:
            await notifications.mark_unreachable(session, participant_id=item.participant_id)


async def notification_loop(
    database: Database,
    catalogs: Catalogs,
    *,
    channel: str,
    send: Send,
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
        raise_if_cancelled()  # a stop that something on the way swallowed still stops it
        wake.clear()
        try:
            while (
                await send_pending(database, catalogs, channel=channel, send=send, links=links) > 0
            ):
                pass  # a full round: there may be more waiting
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # A cancel turned into another failure (by an HTTP client, or by a read
            # session whose connection the cancel invalidated) still stops the loop.
            raise_if_cancelled()
            failures.failure(log, "notification round failed", error)
        await wait_event(wake, interval)


class Notifier:
    """The notification loop of one channel in one process: started with it, woken after a commit."""

    def __init__(
        self,
        database: Database,
        catalogs: Catalogs,
        *,
        channel: str,
        send: Send,
        interval: float = 10.0,
        links: Links | None = None,
    ):
        self._run = partial(
            notification_loop,
            database,
            catalogs,
            channel=channel,
            send=send,
            interval=interval,
            links=links,
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
