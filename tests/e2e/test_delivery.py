"""Replies survive a faltering Telegram: they are stored with the step and sent until they arrive.

The real bot long polls the local Bot API server while it fails sendMessage on
purpose (502s, then a 429 window, answers lost on the way back, a blocked citizen);
the real engine stores every step's replies in the outbox of a real database.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import OutboxStep, Participant, Proposal
from pmd_domain.services import outbox
from tests.botapi import BotApiServer, press
from tests.botapi.server import LOSE_ANSWER, Call
from tests.e2e.citizens import (
    PROBLEM,
    PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    VISION,
    count,
    onboard_quickly,
    proposals_of,
)
from tests.e2e.harness import polling_bot

ERROR = "Uy, no pudimos atender tu mensaje"
CITIZENS = [9501, 9502, 9503]
# What each citizen types, blind, while Telegram fails, and what the bot answers each.
TYPED = [(PROBLEM, "¿Qué propones?"), (PROPOSAL, "¿Cómo imaginas"), (VISION, "Revisa tu propuesta")]


async def _settled(database: Database) -> list[OutboxStep]:
    async with database.reading() as session:
        return list(await session.scalars(select(OutboxStep).where(OutboxStep.status != "sent")))


async def _until_all_sent(database: Database, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await _settled(database):
        assert loop.time() < deadline, await _settled(database)
        await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_replies_held_back_by_502s_and_429s_arrive_in_order_afterwards(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            chats = [botapi.chat(chat_id) for chat_id in CITIZENS]
            for chat in chats:
                await onboard_quickly(chat)
                await chat.run(UP_TO_PROBLEM, **STEP)
            seen = {chat.chat_id: len(chat.messages()) for chat in chats}
            # Telegram answers 502 for ten seconds, then 429 for ten more.
            botapi.fail("sendMessage", status=502, seconds=10)
            for text, _ in TYPED[:2]:
                for chat in chats:
                    await botapi.user_sends(chat.chat_id, text)
            await asyncio.sleep(10)
            botapi.flood("sendMessage", seconds=10, retry_after=2)
            for chat in chats:
                await botapi.user_sends(chat.chat_id, TYPED[2][0])
            await asyncio.sleep(10)
            # Every reply arrives afterwards, in order, and no error message at all.
            for chat in chats:
                await botapi.wait_for_new_messages(
                    chat.chat_id, 3, timeout=20, since=seen[chat.chat_id]
                )
                texts = [m.text or "" for m in chat.messages()[seen[chat.chat_id] :]]
                assert [next(e for _, e in TYPED if e in t) for t in texts] == [e for _, e in TYPED]
                assert not any(ERROR in t for t in texts)
            assert botapi.violations == []  # every retry_after was waited out
            await _until_all_sent(database, timeout=10)
            for chat in chats:
                await chat.run([(press("Enviar"), "PMD23-")], **STEP)
        # The steps were done once each: one proposal per citizen, as typed.
        for chat_id in CITIZENS:
            [proposal] = await proposals_of(database, chat_id)
            assert (proposal.problem, proposal.proposal, proposal.vision) == (
                PROBLEM,
                PROPOSAL,
                VISION,
            )
        assert await count(database, Proposal) == len(CITIZENS)
        async with database.reading() as session:
            failed = list(await session.scalars(select(OutboxStep).where(OutboxStep.attempts > 0)))
        assert failed and all(row.status == "sent" for row in failed)
    finally:
        await database.dispose()


async def test_a_reply_whose_answer_was_lost_is_sent_again_and_no_error_follows(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    lost: list[str] = []

    async def lose_once(call: Call) -> object:
        if not lost and "Pregunta 1 de 4" in str(call.params.get("text", "")):
            lost.append(str(call.params["text"]))
            return LOSE_ANSWER  # delivered, but the bot never hears so
        return None

    try:
        async with polling_bot(botapi, database, consultation):
            botapi.intercept("sendMessage", lose_once)
            chat = botapi.chat(9511)
            await chat.run([("/start", "bienvenida")], **STEP)
            await chat.press("Acepto", count=1, timeout=10)
            await botapi.wait_for_new_messages(9511, 1, since=2, timeout=10)
            texts = [m.text or "" for m in chat.messages()]
            # Sent again (a duplicate is the price), never an error message.
            assert sum("Pregunta 1 de 4" in t for t in texts) == 2
            assert not any(ERROR in t for t in texts)
            await _until_all_sent(database, timeout=5)
    finally:
        await database.dispose()


async def test_a_citizen_who_blocked_the_bot_is_given_up_with_the_reason(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            chat = botapi.chat(9521)
            await onboard_quickly(chat)
            botapi.block(9521)
            await botapi.user_sends(9521, "/ayuda")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while not (rows := [r for r in await _settled(database) if r.status == "failed"]):
                assert loop.time() < deadline
                await asyncio.sleep(0.05)
        [row] = rows
        assert row.error == "Forbidden"
        assert outbox.decode(row)[0].text.startswith("Así funciona")
        async with database.reading() as session:
            person = await session.scalar(select(Participant))
        assert person is not None and not person.reachable
    finally:
        await database.dispose()
