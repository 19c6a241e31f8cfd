"""Staff commands are refused to everybody else without a sign that they exist (SPEC §6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant, Proposal
from pmd_domain.services import staff
from tests.botapi import BotApiServer, ChatSession, press
from tests.botapi.server import BotMessage
from tests.e2e.citizens import PROBLEM, STEP, UP_TO_PROBLEM, count, onboard_quickly
from tests.e2e.harness import polling_bot
from tests.factories import make_participant, make_proposal

ADMIN, MODERATOR, ANALYST = 7001, 7002, 7003
STRANGER, CITIZEN = 7401, 7402
WAIT = {"quiet": 0.15, "timeout": 10.0}
STAFF_COMMANDS = [
    "/moderar",
    "/difundir",
    "/estadisticas",
    "/panel",
    "/staff",
    "/staff agregar 7401 admin",
    "/staff quitar 7002",
    "/revocar C23-000001 motivo",
]
PUBLIC_MENU = ["start", "menu", "ayuda", "idioma", "silenciar", "cancelar"]


def seen(messages: list[BotMessage], command: str) -> list[tuple[str, Any]]:
    """What the chat showed, with the command's name written as ``/CMD``."""
    return [((m.text or "").replace(f"/{command}", "/CMD"), m.reply_markup) for m in messages]


async def answer_like_unknown(chat: ChatSession, typed: str) -> None:
    """``typed`` gets exactly the answer of the unknown command ``/zzz`` (name aside)."""
    name = typed[1:].split()[0]
    unknown = await chat.say("/zzz", **WAIT)
    answer = await chat.say(typed, **WAIT)
    assert seen(answer, name) == seen(unknown, "zzz"), typed


async def state_of(database: Database, chat_id: int) -> tuple[str, dict[str, Any]] | None:
    async with database.reading() as session:
        row = await session.execute(
            select(ConversationState.state, ConversationState.data)
            .join(Participant, Participant.id == ConversationState.participant_id)
            .where(Participant.external_id == str(chat_id))
        )
        found = row.first()
    if found is None:
        return None
    data = {k: v for k, v in dict(found[1]).items() if k != "_s"}
    return str(found[0]), data


async def test_non_staff_get_no_sign_that_staff_commands_exist(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        author = await make_participant(session, consultation)
        await make_proposal(session, consultation, author, publish=False)
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            # Someone who never started: the same greeting as for any other command.
            stranger = botapi.chat(STRANGER)
            for typed in STAFF_COMMANDS:
                await answer_like_unknown(stranger, typed)
            assert await count(database, Participant) == 1  # nothing stored for them

            # A citizen in the middle of a proposal: same answer, the draft untouched.
            citizen = botapi.chat(CITIZEN)
            await onboard_quickly(citizen)
            await citizen.run(UP_TO_PROBLEM, **STEP)
            before = await state_of(database, CITIZEN)
            for typed in STAFF_COMMANDS:
                await answer_like_unknown(citizen, typed)
            assert await state_of(database, CITIZEN) == before
            await citizen.run([(PROBLEM, "¿Qué propones?")], **STEP)
    finally:
        await database.dispose()
    async with database.reading() as session:
        assert [p.status for p in await session.scalars(select(Proposal))] == ["pending"]
    await database.dispose()


async def test_each_role_runs_only_its_own_commands(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await staff.add(session, user_id=MODERATOR, role="moderator", now=utcnow())
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
        author = await make_participant(session, consultation)
        await make_proposal(session, consultation, author, publish=False)
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            moderator, analyst = botapi.chat(MODERATOR), botapi.chat(ANALYST)
            await moderator.run(
                [("/moderar", "Moderación · 1 en espera"), ("/estadisticas", "Cifras al")],
                **WAIT,
            )
            for typed in ("/staff", "/staff agregar 7009 admin", "/panel", "/difundir"):
                await answer_like_unknown(moderator, typed)
            await analyst.run(
                [("/panel", "enlace al panel de análisis"), ("/estadisticas", "Cifras al")],
                **WAIT,
            )
            for typed in ("/moderar", "/staff", "/revocar C23-000001 x", "/difundir"):
                await answer_like_unknown(analyst, typed)
    finally:
        await database.dispose()
    async with database.reading() as session:
        assert await staff.role_of(session, user_id=7009, admin_ids=[]) is None
        assert [p.status for p in await session.scalars(select(Proposal))] == ["pending"]
    await database.dispose()


async def test_the_public_menu_has_no_staff_commands_and_staff_chats_have_theirs(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    botapi.add_users([ADMIN, MODERATOR])
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            for language in ("", "en"):
                assert [c["command"] for c in botapi.commands(language_code=language)] == (
                    PUBLIC_MENU
                )
            admin_scope = {"type": "chat", "chat_id": ADMIN}
            admin_menu = [c["command"] for c in botapi.commands(admin_scope)]
            assert admin_menu == [
                *PUBLIC_MENU,
                "moderar",
                "difundir",
                "estadisticas",
                "panel",
                "revocar",
                "staff",
            ]
            moderator_scope = {"type": "chat", "chat_id": MODERATOR}
            assert botapi.commands(moderator_scope) == []
            admin = botapi.chat(ADMIN)
            await admin.run([(f"/staff agregar {MODERATOR} moderadora Rosa", "moderación")])
            for language in ("", "en"):
                assert [c["command"] for c in botapi.commands(moderator_scope, language)] == [
                    *PUBLIC_MENU,
                    "moderar",
                    "estadisticas",
                    "revocar",
                ]
            await admin.run([(f"/staff quitar {MODERATOR}", "ya no es parte del equipo")])
            assert botapi.commands(moderator_scope) == []
            assert [c["command"] for c in botapi.commands()] == PUBLIC_MENU
    finally:
        await database.dispose()


async def test_an_old_moderation_button_pressed_by_a_citizen_changes_nothing(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        author = await make_participant(session, consultation)
        waiting = await make_proposal(session, consultation, author, publish=False)
    try:
        async with polling_bot(botapi, database, consultation, PMD_ADMIN_IDS=str(ADMIN)):
            citizen = botapi.chat(CITIZEN)
            await onboard_quickly(citizen)
            query = {
                "id": "990001",
                "from": {"id": CITIZEN, "is_bot": False, "first_name": "Ana"},
                "chat_instance": "1",
                "message": botapi.last_message(CITIZEN).public(),  # type: ignore[union-attr]
                "data": "s1.abc:p",  # Publicar, as a moderation card carries it
            }
            replies = await citizen.do(botapi.push_update({"callback_query": query}), **WAIT)
            assert any("¿Qué quieres hacer?" in (m.text or "") for m in replies)
            await citizen.run([(press("Hacer una propuesta"), "¿De qué eje")], **STEP)
    finally:
        await database.dispose()
    async with database.reading() as session:
        assert (await session.get(Proposal, waiting.id)).status == "pending"  # type: ignore[union-attr]
    await database.dispose()
