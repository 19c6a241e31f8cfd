"""Outcome notifications delivered by the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from bot.notify import notification_loop, send_pending_notifications
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification, Participant
from pmd_domain.i18n import Catalogs
from pmd_domain.services import analysis
from tests.botapi.server import BotApiServer
from tests.factories import make_participant, make_proposal

ANA, JOHN, BLOCKED = 610001, 610002, 610003


async def test_outcomes_reach_each_author_in_their_language(
    botapi: BotApiServer, db: Database, consultation: Consultation
) -> None:
    for chat_id in (ANA, JOHN, BLOCKED):
        botapi.add_user(chat_id)
    botapi.block(BLOCKED)
    folios = {}
    async with db.transaction() as session:
        for chat_id, language, outcome in (
            (ANA, "es", "incluida"),
            (JOHN, "en", "no_procede"),
            (BLOCKED, "es", "considerada"),
        ):
            author = await make_participant(session, consultation, external_id=str(chat_id))
            author.language = language
            record = await make_proposal(session, consultation, author)
            folios[chat_id] = record.folio
            await analysis.record_outcome(
                session,
                proposal_id=record.id,
                outcome=outcome,
                note="Acción 2.1.1" if chat_id == ANA else None,
                now=utcnow(),
            )
    catalogs = Catalogs.load()

    async with botapi.bot() as bot:
        botapi.inject_429("sendMessage", count=1, retry_after=1)
        assert await send_pending_notifications(bot, db, catalogs) == 0  # put back, not lost
        assert await send_pending_notifications(bot, db, catalogs) == 2
        assert await send_pending_notifications(bot, db, catalogs) == 0  # nothing twice

    [spanish] = botapi.texts_to(ANA)
    assert spanish is not None
    assert f"Hay noticias de tu propuesta {folios[ANA]}" in spanish
    assert "incluida en el Plan Municipal de Desarrollo" in spanish
    assert "Comentario del equipo: Acción 2.1.1" in spanish
    [english] = botapi.texts_to(JOHN)
    assert english is not None
    assert f"News about your proposal {folios[JOHN]}" in english
    assert "not applicable for now" in english
    assert botapi.texts_to(BLOCKED) == []
    async with db.reading() as session:
        assert all(n.sent_at is not None for n in await session.scalars(select(Notification)))
        blocked = await session.scalar(
            select(Participant).where(Participant.external_id == str(BLOCKED))
        )
    assert blocked is not None and blocked.reachable is False


async def test_the_loop_sends_what_gets_queued_while_it_runs(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    botapi.add_user(ANA)
    db = Database(sqlite_url)
    async with botapi.bot() as bot:
        task = asyncio.create_task(notification_loop(bot, db, Catalogs.load(), interval=0.05))
        try:
            async with db.transaction() as session:
                author = await make_participant(session, consultation, external_id=str(ANA))
                record = await make_proposal(session, consultation, author)
                await analysis.record_outcome(
                    session, proposal_id=record.id, outcome="considerada", now=utcnow()
                )
            message = await botapi.wait_for_message(ANA, timeout=10)
            assert message.text is not None and "considerada para el Plan" in message.text
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await db.dispose()
