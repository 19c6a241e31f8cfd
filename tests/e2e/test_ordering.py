"""Per-chat ordering through the real PTB polling loop: a slow chat holds nobody else."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import build_application, shutdown, start_polling, startup
from pmd_domain.consultation import Consultation
from pmd_domain.conversation.types import Inbound, Outcome, Reply
from pmd_domain.db import Database
from tests.botapi import BotApiServer
from tests.e2e.harness import bot_settings, make_services

SLOW, OTHERS = 9301, (9302, 9303, 9304)


class GatedEngine:
    """Echoes; the slow chat's first message waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.order: list[tuple[str, str]] = []

    async def handle(
        self,
        session: AsyncSession,
        *,
        channel: str,
        external_id: str,
        inbound: Inbound,
        now: datetime,
    ) -> Outcome:
        if inbound.text == "lento":
            await self.gate.wait()
        else:
            # Later messages finish faster: without ordering they would overtake.
            await asyncio.sleep(0.02 / (1 + len(self.order)))
        self.order.append((external_id, inbound.text))
        return Outcome((Reply(f"eco: {inbound.text}"),))


@pytest.mark.postgres
async def test_one_chat_in_order_other_chats_not_held(
    botapi: BotApiServer, postgres_url: str, consultation: Consultation
) -> None:
    # PostgreSQL: on SQLite a step holds the one write lock, so a step stalled inside
    # its transaction would (rightly) hold every writer, which is not what is tested.
    database = Database(postgres_url)
    settings = bot_settings(botapi, database)
    engine = GatedEngine()
    application = build_application(
        settings, services=make_services(settings, database, consultation), conversation=engine
    )
    await startup(application)
    await start_polling(application, timeout=2)
    try:
        for text in ("lento", "dos", "tres", "cuatro"):
            await botapi.user_sends(SLOW, text)
        for chat in OTHERS:
            await botapi.user_sends(chat, f"hola {chat}")
        # The other chats are answered while the slow chat's first update is stuck.
        for chat in OTHERS:
            await botapi.wait_for_new_messages(chat, 1, since=0)
        assert botapi.messages_to(SLOW) == []
        engine.gate.set()
        await botapi.wait_for_new_messages(SLOW, 4, since=0)
        assert botapi.texts_to(SLOW) == ["eco: lento", "eco: dos", "eco: tres", "eco: cuatro"]
        assert [t for c, t in engine.order if c == str(SLOW)] == ["lento", "dos", "tres", "cuatro"]
    finally:
        engine.gate.set()
        await shutdown(application)
        await database.dispose()
