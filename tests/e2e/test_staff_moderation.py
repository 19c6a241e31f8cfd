"""Moderation in the bot (/moderar), driven through the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification, OutboxStep, Proposal, StaffDraft
from pmd_domain.services import erasure, staff
from tests.botapi import BotApiServer, press
from tests.e2e.citizens import STEP, onboard_quickly
from tests.e2e.harness import polling_bot
from tests.factories import make_participant, make_proposal

ADMIN, OTHER_ADMIN = 7001, 7002
ANA, JOHN, LUPE = 7101, 7102, 7103
WAIT = {"quiet": 0.15, "timeout": 10.0}
ADMINS = {"PMD_ADMIN_IDS": f"{ADMIN},{OTHER_ADMIN}"}


async def waiting_proposals(
    database: Database, consultation: Consultation, authors: list[tuple[int, str, str]]
) -> list[Proposal]:
    """One pending proposal per (chat id, language, problem), oldest first."""
    made = []
    async with database.transaction() as session:
        for chat_id, language, problem in authors:
            author = await make_participant(session, consultation, external_id=str(chat_id))
            author.language = language
            made.append(
                await make_proposal(session, consultation, author, problem=problem, publish=False)
            )
    return made


async def stored(database: Database, proposal_id: int) -> Proposal:
    async with database.reading() as session:
        found = await session.get(Proposal, proposal_id)
    assert found is not None
    return found


async def test_publish_reject_with_reason_and_reassign_and_the_authors_are_told(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    for chat_id in (ANA, JOHN, LUPE):
        botapi.add_user(chat_id)
    database = Database(sqlite_url)
    first, second, third = await waiting_proposals(
        database,
        consultation,
        [
            (ANA, "es", "Falta agua en la colonia <b>Centro</b> tres días por semana."),
            (JOHN, "en", "Los baches de la avenida Juárez dañan los coches."),
            (LUPE, "en", "Compra mi producto milagro en oferta esta semana."),
        ],
    )
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            chat = botapi.chat(ADMIN)
            [shown] = await chat.say("/moderar", **WAIT)
            text = shown.text or ""
            assert "Moderación · 3 en espera" in text
            assert first.folio is not None and first.folio in text
            assert "2. Servicios públicos y desarrollo sostenible" in text
            assert "Tema: Agua potable y drenaje" in text
            # What the citizen typed is shown as typed (plain text, no markup parsed).
            assert "<b>Centro</b>" in text and shown.parse_mode is None
            assert chat.buttons() == [
                "✅ Publicar",
                "❌ Rechazar",
                "🔀 Reasignar tema",
                "Saltar",
                "Terminar",
            ]

            # Publicar: the same message now shows the next proposal.
            [edited] = await chat.press("✅ Publicar", **WAIT)
            assert edited.message_id == shown.message_id
            assert f"{first.folio} publicada" in (edited.text or "")
            assert second.folio is not None and second.folio in (edited.text or "")
            assert "2 en espera" in (edited.text or "")
            told = await botapi.wait_for_message(ANA, timeout=10)
            assert f"Tu propuesta {first.folio} ya está publicada" in (told.text or "")

            # Rechazar with a typed reason: the author is told in their own language.
            await chat.run([(press("❌ Rechazar"), f"¿Por qué rechazas {second.folio}?")], **WAIT)
            assert "Es publicidad o propaganda." in chat.buttons()
            await chat.run([("ok", "Escribe el motivo con palabras")], **WAIT)  # too short
            reason = "Ya existe una propuesta igual (PMD23-000001); apóyala en su lugar."
            replies = await chat.say(reason, **WAIT)
            after = replies[-1].text or ""
            assert f"{second.folio} rechazada" in after and reason in after
            assert third.folio is not None and third.folio in after
            told = await botapi.wait_for_message(JOHN, timeout=10)
            assert f"We reviewed your proposal {second.folio}" in (told.text or "")
            assert f"Reason: {reason}" in (told.text or "")

            # Reasignar tema: pillar, then topic; the proposal stays for a decision.
            await chat.run(
                [
                    (press("🔀 Reasignar tema"), "¿A qué eje pertenece"),
                    (press("4. Prosperidad y dinamismo económico"), "¿A qué tema de"),
                ],
                **WAIT,
            )
            [moved] = await chat.press("Comercio local y mercados", **WAIT)
            assert f"{third.folio} ahora es del tema Comercio local y mercados" in (
                moved.text or ""
            )
            assert "Tema: Comercio local y mercados" in (moved.text or "")
            assert "1 en espera" in (moved.text or "")
            # A quick reason, told to the (English-speaking) author in English.
            await chat.run(
                [
                    (press("❌ Rechazar"), "¿Por qué rechazas"),
                    (press("Es publicidad o propaganda."), "No hay propuestas en espera"),
                ],
                **WAIT,
            )
            told = await botapi.wait_for_message(
                LUPE, lambda m: "Reason" in (m.text or ""), timeout=10
            )
            assert "Reason: It is advertising or propaganda." in (told.text or "")
            assert botapi.texts_to(LUPE) == [told.text]  # a reassignment tells nothing
    finally:
        await database.dispose()

    one, two, three = [await stored(database, p.id) for p in (first, second, third)]
    assert (one.status, one.moderated_by) == ("published", ADMIN)
    assert (two.status, two.moderation_reason) == ("rejected", reason)
    assert (three.status, three.pillar, three.topic) == ("rejected", "economia", "comercio")
    assert three.moderation_reason == "Es publicidad o propaganda."
    async with database.reading() as session:
        assert all(n.sent_at is not None for n in await session.scalars(select(Notification)))
        assert await session.get(StaffDraft, ADMIN) is None
    await database.dispose()


async def test_a_reported_proposal_comes_back_to_the_queue_first(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    limits = consultation.limits.model_copy(update={"reports_to_requeue": 2})
    # the citizens below join a moment before reporting: let their reports count
    rules = consultation.integrity.reports.model_copy(update={"min_account_minutes": 0})
    integrity = consultation.integrity.model_copy(update={"reports": rules})
    consultation = consultation.model_copy(update={"limits": limits, "integrity": integrity})
    botapi.add_user(ANA)
    database = Database(sqlite_url)
    [older] = await waiting_proposals(
        database, consultation, [(JOHN, "es", "Hace falta una biblioteca en el barrio.")]
    )
    async with database.transaction() as session:
        author = await make_participant(session, consultation, external_id=str(ANA))
        reported = await make_proposal(
            session, consultation, author, problem="Texto que alguien consideró ofensivo."
        )
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            for citizen in (7201, 7202):
                chat = botapi.chat(citizen)
                await onboard_quickly(chat)
                await chat.run(
                    [
                        (press("Votar propuestas"), "¿Qué propuestas quieres ver?"),
                        (press("Todos los ejes"), reported.folio),
                        (press("Reportar"), "¿Quieres reportar esta propuesta"),
                        (press("Sí, reportar"), "Gracias, la revisaremos."),
                    ],
                    **STEP,
                )
            assert (await stored(database, reported.id)).status == "pending"
            staff_chat = botapi.chat(ADMIN)
            [shown] = await staff_chat.say("/moderar", **WAIT)
            # Reported first, ahead of an older proposal that never was published.
            assert reported.folio is not None and reported.folio in (shown.text or "")
            assert "Reportada por la ciudadanía 2 veces" in (shown.text or "")
            assert "2 en espera" in (shown.text or "")
            [nxt] = await staff_chat.press("✅ Publicar", **WAIT)
            assert older.folio is not None and older.folio in (nxt.text or "")
    finally:
        await database.dispose()
    back = await stored(database, reported.id)
    # Confirmed by the moderator; its reports are kept, not zeroed (docs/integrity.md).
    assert (back.status, back.reports, back.confirmed_reports) == ("published", 2, 2)
    assert back.confirmed_at is not None
    # The author heard about the publication once, when it first happened (not here).
    async with database.reading() as session:
        assert list(await session.scalars(select(Notification))) == []
    await database.dispose()


async def test_a_stale_button_gets_a_kind_answer_and_changes_nothing(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    botapi.add_user(ANA)
    database = Database(sqlite_url)
    first, second = await waiting_proposals(
        database,
        consultation,
        [(ANA, "es", "Falta alumbrado en el parque."), (JOHN, "es", "Faltan bancas.")],
    )
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            mine, theirs = botapi.chat(ADMIN), botapi.chat(OTHER_ADMIN)
            [card] = await mine.say("/moderar", **WAIT)
            await theirs.run([("/moderar", first.folio), (press("✅ Publicar"), "publicada")])
            # The first admin still has the old card: Rechazar, then Publicar on it.
            [answer] = await mine.press("❌ Rechazar", **WAIT)
            assert f"Otra persona del equipo ya revisó {first.folio}: está publicada" in (
                answer.text or ""
            )
            assert second.folio is not None and second.folio in (answer.text or "")
            # Both now show the second one; the other admin publishes it first.
            await theirs.run([(press("✅ Publicar"), f"{second.folio} publicada")], **WAIT)
            [answer] = await mine.press("✅ Publicar", **WAIT)
            assert f"ya revisó {second.folio}: está publicada" in (answer.text or "")
            assert "No hay propuestas en espera" in (answer.text or "")
            assert answer.message_id == card.message_id
            assert all("Traceback" not in (t or "") for t in mine.texts())
    finally:
        await database.dispose()
    assert (await stored(database, first.id)).moderated_by == OTHER_ADMIN
    assert (await stored(database, second.id)).moderated_by == OTHER_ADMIN
    await database.dispose()


async def test_a_removed_member_s_old_button_does_nothing(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    moderator = 7301
    database = Database(sqlite_url)
    [waiting] = await waiting_proposals(database, consultation, [(ANA, "es", "Faltan árboles.")])
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            admin = botapi.chat(ADMIN)
            await admin.run([(f"/staff agregar {moderator} moderador", "moderación")], **WAIT)
            chat = botapi.chat(moderator)
            [card] = await chat.say("/moderar", **WAIT)
            assert waiting.folio is not None and waiting.folio in (card.text or "")
            await chat.press("❌ Rechazar", **WAIT)  # a rejection waiting for its reason
            asking = botapi.last_message(moderator)
            assert asking is not None and asking.message_id == card.message_id
            quick_reason = asking.inline_buttons[3]["callback_data"]
            await admin.run([(f"/staff quitar {moderator}", "ya no es parte")], **WAIT)
            stranger = await chat.do(
                botapi.user_presses(moderator, card.message_id, quick_reason), **WAIT
            )
            typed = await chat.say("Motivo que ya no cuenta", **WAIT)
            # Answered as any citizen who has not started yet: the greeting, nothing else.
            assert all("Te damos la bienvenida" in (m.text or "") for m in stranger + typed)
    finally:
        await database.dispose()
    assert (await stored(database, waiting.id)).status == "pending"
    async with database.reading() as session:
        assert await staff.role_of(session, user_id=moderator, admin_ids=[]) is None
    await database.dispose()


async def test_a_proposal_erased_while_shown_gets_a_kind_answer(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    gone, kept = await waiting_proposals(
        database,
        consultation,
        [(ANA, "es", "Falta una rampa en la escuela."), (JOHN, "es", "Faltan semáforos.")],
    )
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            chat = botapi.chat(ADMIN)
            await chat.run([("/moderar", gone.folio), (press("❌ Rechazar"), "¿Por qué")], **WAIT)
            async with database.transaction() as session:
                # The author exercises the right to erasure meanwhile.
                await erasure.erase(
                    session,
                    consultation=consultation,
                    participant_id=gone.participant_id,
                    now=utcnow(),
                )
            replies = await chat.say("Contiene datos personales de un vecino.", **WAIT)
            text = replies[-1].text or ""
            assert "Esa propuesta ya no está en la cola." in text
            assert kept.folio is not None and kept.folio in text
    finally:
        await database.dispose()
    assert (await stored(database, kept.id)).status == "pending"
    async with database.reading() as session:
        # No rejection waits for a reason any more: the flow shows the next proposal.
        flow = await session.get(StaffDraft, ADMIN)
    assert flow is not None and (flow.kind, flow.data["proposal_id"]) == ("mod.card", kept.id)
    await database.dispose()


async def test_a_member_added_elsewhere_after_start_can_type_a_reason(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    moderator = 7302
    database = Database(sqlite_url)
    [waiting] = await waiting_proposals(database, consultation, [(ANA, "es", "Faltan bancas.")])
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            async with database.transaction() as session:
                # `pmd staff add`, or another bot process: this one did not see it happen.
                await staff.add(session, user_id=moderator, role="moderator", now=utcnow())
            chat = botapi.chat(moderator)
            await chat.run(
                [
                    ("/moderar", waiting.folio),
                    (press("❌ Rechazar"), "¿Por qué rechazas"),
                    ("No es un asunto del municipio.", f"{waiting.folio} rechazada"),
                ],
                **WAIT,
            )
    finally:
        await database.dispose()
    assert (await stored(database, waiting.id)).moderation_reason == (
        "No es un asunto del municipio."
    )
    await database.dispose()


async def test_a_staff_button_of_an_earlier_screen_is_answered_like_a_citizen_s(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    [waiting] = await waiting_proposals(database, consultation, [(ANA, "es", "Faltan bancas.")])
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            chat = botapi.chat(ADMIN)
            [card] = await chat.say("/moderar", **WAIT)
            publish = next(
                b["callback_data"] for b in card.inline_buttons if "Publicar" in b["text"]
            )
            await chat.run([(press("❌ Rechazar"), "¿Por qué rechazas")], **WAIT)
            # Publicar of the card this message showed before it asked for the reason.
            cursor = botapi.change_count(ADMIN)
            stale = await botapi.user_presses_shown_before(ADMIN, card.message_id, publish)
            [answer] = await botapi.wait_for_changes(ADMIN, cursor, **WAIT)
            notice = await botapi.wait_for_callback_answer(stale["id"])
            # As a citizen's stale button: the screen on display again, and the same toast.
            text = answer.text or ""
            assert text.startswith("Ese botón es de un mensaje anterior. Sigamos aquí:")
            assert f"¿Por qué rechazas {waiting.folio}?" in text
            assert notice.get("text") == "Ese botón ya no está activo."
            # The screen drawn again still takes its reason.
            await chat.run([("No es un asunto del municipio.", "rechazada")], **WAIT)
    finally:
        await database.dispose()
    found = await stored(database, waiting.id)
    assert (found.status, found.moderation_reason) == ("rejected", "No es un asunto del municipio.")
    await database.dispose()


async def test_a_staff_step_whose_answer_telegram_fails_to_take_is_answered_once_it_can(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    botapi.add_user(ANA)
    database = Database(sqlite_url)
    [waiting, following] = await waiting_proposals(
        database,
        consultation,
        [
            (ANA, "es", "Falta agua en la colonia Centro tres días por semana."),
            (ANA, "es", "Los baches de la avenida Juárez dañan los coches."),
        ],
    )
    try:
        async with polling_bot(botapi, database, consultation, **ADMINS):
            chat = botapi.chat(ADMIN)
            [shown] = await chat.say("/moderar", **WAIT)
            # The step commits (the proposal is published), but Telegram's answer to the
            # edit is a 502: the new screen is not lost, it comes with the next try.
            botapi.fail("editMessageText", status=502, count=1)
            [edited] = await chat.press("✅ Publicar", quiet=2.0, timeout=15.0)
            assert edited.message_id == shown.message_id
            assert f"{waiting.folio} publicada" in (edited.text or "")
            assert following.folio is not None and following.folio in (edited.text or "")
            assert (await stored(database, waiting.id)).status == "published"
            # Once delivered, no copy of the screen (which quotes the proposal) stays behind.
            for _ in range(100):
                async with database.reading() as session:
                    rows = list(
                        await session.scalars(
                            select(OutboxStep).where(OutboxStep.external_id == str(ADMIN))
                        )
                    )
                if rows and all(row.status == "sent" for row in rows):
                    break
                await asyncio.sleep(0.05)
            assert rows and all(
                (r.status, r.replies, r.document) == ("sent", [], None) for r in rows
            )
    finally:
        await database.dispose()
