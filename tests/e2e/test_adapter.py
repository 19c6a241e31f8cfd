"""The Telegram adapter on its own: the real PTB over HTTP, a scripted engine.

The engine here is a stand-in that returns fixed replies, so that rendering
(editing, notices, documents, long texts, markup safety) and error handling can be
checked without depending on the conversation's wording. The conversation itself is
exercised through the real engine in the other e2e tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import BotApplication, build_application, shutdown, start_polling, startup
from pmd_domain.consultation import Consultation
from pmd_domain.conversation.types import Button, Document, Inbound, Outcome, Reply
from pmd_domain.db import Database
from tests.botapi import BotApiServer
from tests.e2e.harness import bot_settings, make_services

CHAT = 7001
TRICKY = "<b>negritas</b> *no* _tampoco_ [enlace](http://x) `código` & < >"


class ScriptedEngine:
    """Answers by the input's kind and text; records what it was given."""

    def __init__(self) -> None:
        self.seen: list[Inbound] = []

    async def handle(
        self,
        session: AsyncSession,
        *,
        channel: str,
        external_id: str,
        inbound: Inbound,
        now: datetime,
    ) -> Outcome:
        self.seen.append(inbound)
        if inbound.kind == "button":
            if inbound.data == "same":
                return Outcome((Reply("Elige:", buttons=((Button("Igual", "same"),),), edit=True),))
            return Outcome((Reply(f"Elegiste {inbound.data}", edit=True, notice="¡Listo!"),))
        if inbound.text.startswith("falla"):
            raise RuntimeError(f"engine bug on {inbound.text!r}")
        if inbound.text == "largo":
            return Outcome((Reply("palabra " * 1200),))
        if inbound.text == "archivo":
            document = Document("constancia.pdf", b"%PDF-1.4 fake", "application/pdf", "Tu PDF")
            return Outcome((Reply("Aquí va:", document=document),))
        if inbound.text == "enlace":
            button = Button("Aviso de privacidad", url="https://participa.example.mx/privacidad")
            return Outcome((Reply("Lee el aviso", buttons=((button,),)),))
        if inbound.text == "igual":
            return Outcome((Reply("Elige:", buttons=((Button("Igual", "same"),),)),))
        return Outcome(
            (
                Reply(
                    inbound.text or inbound.kind,
                    buttons=((Button("Uno", "b1"), Button("Dos", "b2")),),
                ),
            )
        )


@pytest.fixture
async def scripted(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> AsyncIterator[tuple[ScriptedEngine, BotApplication]]:
    database = Database(sqlite_url)
    settings = bot_settings(botapi, database)
    engine = ScriptedEngine()
    application = build_application(
        settings, services=make_services(settings, database, consultation), conversation=engine
    )
    await startup(application)
    await start_polling(application, timeout=2)
    yield engine, application
    await shutdown(application)
    await database.dispose()


async def test_commands_menu_is_published_in_spanish_and_english(
    botapi: BotApiServer, scripted: Any
) -> None:
    spanish = [c["command"] for c in botapi.commands()]
    english = botapi.commands(language_code="en")
    assert spanish == ["start", "menu", "ayuda", "idioma", "silenciar", "cancelar"]
    assert english[0]["description"] == "Start taking part"


async def test_text_is_sent_verbatim_without_parse_mode(
    botapi: BotApiServer, scripted: Any
) -> None:
    chat = botapi.chat(CHAT)
    [reply] = await chat.say(TRICKY, count=1)
    assert reply.text == TRICKY
    assert reply.parse_mode is None
    assert reply.buttons == ["Uno", "Dos"]


async def test_button_edits_the_pressed_message_and_shows_the_notice(
    botapi: BotApiServer, scripted: Any
) -> None:
    chat = botapi.chat(CHAT)
    [menu] = await chat.say("hola", count=1)
    query = await botapi.user_presses(CHAT, menu, "b2")
    answer = await botapi.wait_for_callback_answer(query["id"])
    assert answer.get("text") == "¡Listo!"
    edited = await botapi.wait_for_message(CHAT, lambda m: m.text == "Elegiste b2")
    assert edited.message_id == menu.message_id and edited.edits == 1
    assert len(chat.messages()) == 1


async def test_an_edit_that_telegram_refuses_becomes_a_new_message(
    botapi: BotApiServer, scripted: Any
) -> None:
    chat = botapi.chat(CHAT)
    await chat.say("igual", count=1)
    query = await botapi.user_presses(CHAT, chat.messages()[-1], "same")  # "not modified"
    await botapi.wait_for_callback_answer(query["id"])
    await botapi.wait_for_new_messages(CHAT, 1, since=1)
    assert [m.text for m in chat.messages()] == ["Elige:", "Elige:"]


async def test_long_text_is_split_and_url_buttons_work(botapi: BotApiServer, scripted: Any) -> None:
    chat = botapi.chat(CHAT)
    pieces = await chat.say("largo", count=3)
    assert all(len(m.text or "") <= 4096 for m in pieces)
    assert sum(len((m.text or "").split()) for m in pieces) == 1200
    [link] = await chat.say("enlace", count=1)
    assert link.inline_buttons[0]["url"] == "https://participa.example.mx/privacidad"


async def test_document_is_uploaded_after_a_chat_action(
    botapi: BotApiServer, scripted: Any
) -> None:
    chat = botapi.chat(CHAT)
    text, document = await chat.say("archivo", count=2)
    assert text.text == "Aquí va:"
    assert document.file_bytes == b"%PDF-1.4 fake"
    assert document.file is not None and document.file.file_name == "constancia.pdf"
    assert document.text == "Tu PDF"
    assert (CHAT, "upload_document") in botapi.chat_actions


async def test_inputs_reach_the_engine_as_the_right_kinds(
    botapi: BotApiServer, scripted: tuple[ScriptedEngine, BotApplication]
) -> None:
    engine, _ = scripted
    chat = botapi.chat(CHAT, language_code="en")
    await chat.say("/start fb_alcalde", count=1)
    await chat.say("/Menu@participa_pmd_bot", count=1)
    cursor = botapi.change_count(CHAT)
    sent = await botapi.user_sends(CHAT, "Texto")
    await botapi.user_edits(CHAT, sent["message_id"], "Texto corregido")
    await botapi.user_forwards(CHAT, "reenviado")
    await botapi.user_sends_sticker(CHAT)
    await botapi.user_sends_location(CHAT)
    await botapi.wait_for_changes(CHAT, cursor, count=5)
    kinds = [(i.kind, i.text, i.command, i.media) for i in engine.seen]
    assert kinds == [
        ("start", "fb_alcalde", "", ""),
        ("command", "", "menu", ""),
        ("text", "Texto", "", ""),
        ("edited", "", "", ""),
        ("forwarded", "", "", ""),
        ("media", "", "", "sticker"),
        ("media", "", "", "location"),
    ]
    assert {i.language_hint for i in engine.seen} == {"en"}
    assert len({i.update_id for i in engine.seen}) == len(engine.seen)


async def test_a_failing_step_gets_a_kind_answer_and_no_traceback(
    botapi: BotApiServer, scripted: Any, caplog: pytest.LogCaptureFixture
) -> None:
    chat = botapi.chat(CHAT)
    [reply] = await chat.say("falla: soy Ana Pérez, calle Allende 12", count=1)
    assert reply.text is not None and reply.text.startswith("Uy, no pudimos atender tu mensaje")
    assert "Traceback" not in reply.text and "RuntimeError" not in reply.text
    failure = next(r for r in caplog.records if r.getMessage() == "update failed")
    assert not hasattr(failure, "chat_id")  # ids of updates, never of chats
    logged = str(failure.__dict__) + caplog.text
    assert "Ana Pérez" not in logged and "Allende" not in logged
    assert failure.error == "RuntimeError"  # type: ignore[attr-defined]
    assert "test_adapter.py" in failure.where  # type: ignore[attr-defined]
    # The bot keeps working afterwards.
    [after] = await chat.say("sigo aquí", count=1)
    assert after.text == "sigo aquí"


async def test_a_429_is_waited_out_and_the_reply_still_arrives(
    botapi: BotApiServer, scripted: Any
) -> None:
    botapi.inject_429("sendMessage", chat_id=CHAT, count=1, retry_after=1)
    [reply] = await botapi.chat(CHAT).say("hola", count=1, timeout=10)
    assert reply.text == "hola"
    assert botapi.violations == []  # it waited as long as it was told


async def test_a_citizen_who_blocked_the_bot_is_not_an_error(
    botapi: BotApiServer, scripted: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pmd")

    def given_up() -> bool:
        return any(
            r.getMessage() == "replies given up" and r.reason == "Forbidden"  # type: ignore[attr-defined]
            for r in caplog.records
        )

    botapi.add_user(CHAT)
    botapi.block(CHAT)
    await botapi.user_sends(CHAT, "hola")
    for _ in range(100):
        if given_up():
            break
        await asyncio.sleep(0.02)
    assert not any(r.getMessage() == "update failed" for r in caplog.records)
    assert given_up()
