"""Unexpected inputs (SPEC §2): a short kind answer that repeats what the bot waits for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Proposal
from tests.botapi import BotApiServer, ChatSession, press
from tests.e2e.citizens import (
    PROBLEM,
    PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    count,
    onboard_quickly,
    proposals_of,
)
from tests.e2e.harness import polling_bot

CHAT = 9101
WAITING = "¿Cuál es el problema?"


async def answer_to(botapi: BotApiServer, action: Callable[[], Awaitable[Any]]) -> list[str]:
    cursor = botapi.change_count(CHAT)
    await action()
    replies = await botapi.wait_for_changes(CHAT, cursor, **STEP)
    return [m.text or "" for m in replies]


async def test_every_unexpected_input_gets_a_kind_answer_and_nothing_is_lost(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            chat: ChatSession = botapi.chat(CHAT)
            await onboard_quickly(chat)
            await chat.run(UP_TO_PROBLEM, **STEP)
            # The citizen's own "/start" message, edited later.
            typed = min(
                number
                for number, message in botapi.chats[CHAT].messages.items()
                if message.get("from", {}).get("id") == CHAT
            )
            inputs: list[tuple[str, Callable[[], Awaitable[Any]], str]] = [
                ("sticker", lambda: botapi.user_sends_sticker(CHAT), "solo puedo leer texto"),
                ("photo", lambda: botapi.user_sends_photo(CHAT), "solo puedo leer texto"),
                ("voice", lambda: botapi.user_sends_voice(CHAT), "solo puedo leer texto"),
                ("location", lambda: botapi.user_sends_location(CHAT), "solo puedo leer texto"),
                (
                    "edited",
                    lambda: botapi.user_edits(CHAT, typed, "otra cosa"),
                    "editaste un mensaje",
                ),
                ("forwarded", lambda: botapi.user_forwards(CHAT, "Mira esto"), "reenviados"),
                ("unknown command", lambda: botapi.user_sends(CHAT, "/propuesta"), "/propuesta"),
                ("help mid-step", lambda: botapi.user_sends(CHAT, "/ayuda"), "esperando esto"),
                ("5,000 characters", lambda: botapi.user_sends(CHAT, "a" * 5000), "muy largo"),
                ("emoji only", lambda: botapi.user_sends(CHAT, "😀🎉👍"), "No pudimos leer"),
                ("blank", lambda: botapi.user_sends(CHAT, "   "), "No pudimos leer"),
            ]
            for name, action, hint in inputs:
                texts = await answer_to(botapi, action)
                joined = "\n".join(texts)
                assert hint in joined, (name, texts)
                assert WAITING in joined, (name, texts)
                assert all(len(t) < 4096 for t in texts)
                assert "Traceback" not in joined and "Error" not in joined
            # Nothing was lost: the pillar and topic chosen before are still the draft's.
            replies = await chat.run(
                [(PROBLEM, "¿Qué propones?"), (PROPOSAL, "2040"), (press("Omitir"), "Revisa")],
                **STEP,
            )
            preview = replies[-1][0].text or ""
            assert "Alumbrado público" in preview and PROBLEM in preview
            await chat.run([(press("Enviar"), "PMD23-")], **STEP)
            [proposal] = await proposals_of(database, CHAT)
            assert (proposal.topic, proposal.problem) == ("alumbrado", PROBLEM)
    finally:
        await database.dispose()


async def test_a_stale_button_and_a_double_tap_make_one_proposal(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            chat = botapi.chat(CHAT)
            await onboard_quickly(chat)
            await chat.run(UP_TO_PROBLEM, **STEP)
            await chat.run(
                [(PROBLEM, "¿Qué propones?"), (PROPOSAL, "2040"), (press("Omitir"), "Revisa")],
                **STEP,
            )
            preview = chat.last()
            assert preview is not None
            send = next(b["callback_data"] for b in preview.inline_buttons if b["text"] == "Enviar")
            # Two presses of Enviar in a row, before the first reply arrives.
            cursor = botapi.change_count(CHAT)
            first = await botapi.user_presses(CHAT, preview, send)
            second = await botapi.user_presses(CHAT, preview, send)
            texts = [m.text or "" for m in await botapi.wait_for_changes(CHAT, cursor, **STEP)]
            assert sum("PMD23-" in t for t in texts) == 1
            assert any("mensaje anterior" in t for t in texts)
            for query in (first, second):
                await botapi.wait_for_callback_answer(query["id"])
            # A button of a much older message (the menu shown at the start).
            menu = next(m for m in chat.messages() if "Hacer una propuesta" in m.buttons)
            data = next(
                b["callback_data"]
                for b in menu.inline_buttons
                if b["text"] == "Hacer una propuesta"
            )
            cursor = botapi.change_count(CHAT)
            stale = await botapi.user_presses(CHAT, menu, data)
            texts = [m.text or "" for m in await botapi.wait_for_changes(CHAT, cursor, **STEP)]
            assert any("mensaje anterior" in t for t in texts)
            answer = await botapi.wait_for_callback_answer(stale["id"])
            assert answer.get("text") == "Ese botón ya no está activo."
            assert await count(database, Proposal) == 1
    finally:
        await database.dispose()
