"""The notification loop of a channel: stopping it stops it, whatever the channel's client
does; a notification is sent at least once, whatever fails or dies on the way."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification
from pmd_domain.i18n import Catalogs
from pmd_domain.notification_sender import Notifier, Send, send_pending
from pmd_domain.services import notifications
from pmd_domain.services.notifications import Pending
from tests.factories import make_participant


async def test_stopping_the_loop_while_a_client_swallows_the_cancel_still_stops_it(
    sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    await _queued(database, consultation, "70001")
    sending = asyncio.Event()

    async def send(item: Pending, text: str) -> None:
        sending.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            # what an HTTP client may do with a cancel: a failure of its own instead
            raise ConnectionResetError("connection closed") from None

    notifier = Notifier(database, Catalogs.load(), channel="telegram", send=send, interval=30)
    notifier.start()
    await asyncio.wait_for(sending.wait(), 5)
    stopping = asyncio.create_task(notifier.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert stopping in done, "the loop went on to its next round instead of stopping"
    await database.dispose()


class _Phone:
    """A channel's ``Send`` that records whom each notification reached."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, item: Pending, text: str) -> None:
        self.sent.append(item.external_id or "")


async def _round(database: Database, send: Send) -> int:
    return await send_pending(database, Catalogs.load(), channel="telegram", send=send)


async def _end_leases(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(update(Notification).values(claimed_until=utcnow()))


async def _queued(database: Database, consultation: Consultation, external_id: str) -> None:
    async with database.transaction() as session:
        person = await make_participant(session, consultation, external_id=external_id)
        await notifications.queue(
            session,
            participant=person,
            text_key="notify.published",
            params={"folio": "X"},
            now=utcnow(),
        )


async def test_a_notification_taken_by_a_process_that_died_is_sent_once_its_lease_ends(
    db: Database, consultation: Consultation
) -> None:
    await _queued(db, consultation, "70002")
    async with db.reading() as session:
        [item] = await notifications.pending(session, channel="telegram", now=utcnow())
    # A process took it, then died before sending it (its lease ran out since).
    async with db.transaction() as session:
        taken = utcnow() - notifications.LEASE - timedelta(seconds=1)
        assert await notifications.claim(session, notification_id=item.id, now=taken)
    phone = _Phone()
    assert await _round(db, phone) == 1
    assert await _round(db, phone) == 0
    assert phone.sent == ["70002"]


async def test_a_send_that_fails_unexpectedly_loses_nothing(
    db: Database, consultation: Consultation
) -> None:
    await _queued(db, consultation, "70003")
    await _queued(db, consultation, "70004")
    phone = _Phone()

    async def send(item: Pending, text: str) -> None:
        if item.external_id == "70003" and not phone.sent:
            raise OSError("the channel's db read failed")
        await phone(item, text)

    # The failed one is not given up; the round goes on with the next.
    assert await _round(db, send) == 1
    assert phone.sent == ["70004"]
    # Taken, so not sent again at once; once its lease ends it goes.
    assert await _round(db, send) == 0
    await _end_leases(db)
    assert await _round(db, send) == 1
    assert phone.sent == ["70004", "70003"]


async def test_a_delivered_notification_is_not_sent_again_after_its_lease(
    db: Database, consultation: Consultation
) -> None:
    await _queued(db, consultation, "70005")
    phone = _Phone()
    assert await _round(db, phone) == 1
    await _end_leases(db)
    assert await _round(db, phone) == 0
    assert phone.sent == ["70005"]


async def test_stopping_the_loop_right_after_a_wake_still_stops_it(sqlite_url: str) -> None:
    # A wake just before the stop: the loop's wait may end by the wake and by the
    # stop at once, and the stop must not be lost in between.
    database = Database(sqlite_url)
    for turns in range(6):
        notifier = Notifier(
            database, Catalogs.load(), channel="telegram", send=_Phone(), interval=30
        )
        notifier.start()
        await asyncio.sleep(0.2)  # the loop waits for a wake
        notifier.wake()
        for _ in range(turns):
            await asyncio.sleep(0)
        stopping = asyncio.create_task(notifier.stop())
        done, _ = await asyncio.wait({stopping}, timeout=3)
        assert stopping in done, f"the loop went on after a wake and a stop ({turns} turns)"
    await database.dispose()
