"""The notification loop of a channel: stopping it stops it, whatever the channel's client does."""

from __future__ import annotations

import asyncio

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.notification_sender import Notifier
from pmd_domain.services import notifications
from pmd_domain.services.notifications import Pending
from tests.factories import make_participant


async def test_stopping_the_loop_while_a_client_swallows_the_cancel_still_stops_it(
    sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        person = await make_participant(session, consultation, external_id="70001")
        await notifications.queue(
            session,
            participant=person,
            text_key="notify.published",
            params={"folio": "X"},
            now=utcnow(),
        )
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
