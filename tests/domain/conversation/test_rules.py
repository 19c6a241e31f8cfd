"""Repeated updates, restarts, closed exercise, language, commands."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import func, select

from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Inbound
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal, Vote
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard, stored_state, write_draft
from tests.factories import closed_consultation, make_participant, make_proposal


async def _count(db: Database, model: type) -> int:
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_repeated_update_is_handled_once(chat: Chat, db: Database) -> None:
    await onboard(chat)
    await write_draft(chat)
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    send = Inbound(kind="button", data=chat.button("Enviar").data, update_id="u-77")
    first = await chat.send(send)
    assert not first.duplicate and "folio" in first.replies[0].text
    again = await chat.send(send)
    assert again.duplicate and again.replies == ()
    assert await _count(db, Proposal) == 1
    typed = Inbound(kind="text", text="hola", update_id="u-77")
    assert (await chat.send(typed)).duplicate


async def test_a_new_process_continues_a_half_finished_proposal(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    await write_draft(chat)
    waiting = chat.last
    fresh = Chat(db, new_conversation(consultation))  # another process, same database
    fresh.last = waiting
    [vision] = await fresh.say("Poner un semáforo peatonal frente a la escuela.")
    assert "¿Cómo imaginas la seguridad de tu colonia en 2040?" in vision
    await fresh.press("Omitir")
    assert "Los autos pasan muy rápido frente a la escuela." in fresh.text
    [sent] = await fresh.press("Enviar")
    assert "folio PMD23-" in sent


async def test_cancel_mid_proposal_discards_the_draft(chat: Chat, db: Database) -> None:
    await onboard(chat)
    await write_draft(chat)
    [cancelled] = await chat.command("cancelar")
    assert "cancelé lo que estabas haciendo" in cancelled
    assert "Tu borrador se descartó." in cancelled
    assert "¿Qué quieres hacer?" in cancelled
    assert await stored_state(db) == ("menu", {})
    [nothing] = await chat.command("cancelar")
    assert "No hay nada que cancelar." in nothing
    assert await _count(db, Proposal) == 0


async def test_back_and_correct_from_the_preview(chat: Chat, db: Database) -> None:
    await onboard(chat)
    await write_draft(chat)
    [problem] = await chat.press("Atrás")
    assert "¿Cuál es el problema?" in problem and "Los autos pasan muy rápido" in problem
    await chat.press("Dejarlo así")
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    await chat.press("Corregir")
    assert "¿Qué parte quieres corregir?" in chat.text
    await chat.press("Problema")
    [preview] = await chat.say("Los autos no respetan el paso peatonal.")
    assert "Revisa tu propuesta" in preview and "no respetan el paso peatonal" in preview
    await chat.press("Corregir")
    await chat.press("Eje y tema")
    await chat.press("Servicios públicos")
    [preview] = await chat.press("Movilidad")
    assert "Tema: Movilidad, calles y transporte" in preview
    await chat.press("Corregir")
    await chat.press("Visión")
    [preview] = await chat.say("Calles seguras para niñas y niños.")
    assert "Visión 2040:\nCalles seguras para niñas y niños." in preview
    await chat.press("Enviar")
    async with db.reading() as session:
        record = await session.scalar(select(Proposal))
        assert record is not None
        assert (record.pillar, record.topic) == ("servicios", "movilidad")
        assert record.problem == "Los autos no respetan el paso peatonal."


async def test_start_from_a_known_participant_goes_to_the_menu(chat: Chat, db: Database) -> None:
    await onboard(chat, "fb_alcalde")
    await write_draft(chat)
    [menu] = await chat.start("otra_campana")
    assert "¿Qué quieres hacer?" in menu and "Tu borrador se descartó." in menu
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.source == "fb_alcalde"
    assert await _count(db, Participant) == 1


async def test_closed_exercise_keeps_the_personal_options(db: Database) -> None:
    consultation = closed_consultation()
    chat = Chat(db, new_conversation(consultation))
    async with db.transaction() as session:
        person = await make_participant(session, consultation, external_id="555")
    await chat.command("menu")
    [closed] = await chat.press("Hacer una propuesta")
    assert "ya cerró" in closed and "¿Qué quieres hacer?" in closed
    exercise = consultation.exercise
    assert exercise.closes.astimezone(exercise.opens.tzinfo).strftime("%Y") in closed
    [closed] = await chat.press("Votar propuestas")
    assert "ya no se reciben propuestas ni votos" in closed
    [mine] = await chat.press("Mi participación")
    assert "Todavía no tienes propuestas." in mine
    await chat.press("Menú")
    [data] = await chat.press("Mis datos")
    assert "Tus datos:" in data
    assert person.id is not None


async def test_closing_while_writing_gives_a_kind_answer(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    await write_draft(chat)
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    chat.now = consultation.exercise.closes
    [closed] = await chat.press("Enviar")
    assert "ya cerró" in closed and "¿Qué quieres hacer?" in closed
    assert await _count(db, Proposal) == 0


async def test_closing_while_voting_gives_a_kind_answer(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        await make_proposal(session, consultation, author)
    await onboard(chat)
    await chat.press("Votar propuestas")
    await chat.press("Todos los ejes")
    chat.now = consultation.exercise.closes
    [closed] = await chat.press("Apoyo")
    assert "ya cerró" in closed and "¿Qué quieres hacer?" in closed
    [menu] = await chat.other("media", "sticker")
    assert "¿Qué quieres hacer?" in menu
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Vote)) == 0


async def test_english_journey(db: Database, consultation: Consultation) -> None:
    chat = Chat(db, new_conversation(consultation), language_hint="en-GB")
    [greeting] = await chat.start()
    assert greeting.startswith("Hi!") and "Read the full notice" in chat.labels()
    await chat.press("I accept")
    assert "What gender do you identify with?" in chat.text
    await chat.command("idioma")
    assert chat.labels() == ["Español", "English"]
    [spanish] = await chat.press("Español")
    assert "te escribiré en español" in spanish and "¿Con qué género" in spanish
    await chat.command("idioma")
    [english] = await chat.press("English")
    assert "I'll write to you in English" in english
    assert "What gender do you identify with?" in english
    await chat.press("Woman")
    while "I'd rather not say" in chat.labels():
        await chat.press("I'd rather not say")
    assert "What would you like to do?" in chat.text
    await chat.press("Make a proposal")
    await chat.press("Social well-being")
    [topic] = await chat.press("Health")
    assert "What is the problem?" in topic
    await chat.command("cancelar")
    assert "Your draft was discarded." in chat.text
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.language == "en"


async def test_mute_and_unmute(chat: Chat, db: Database) -> None:
    await onboard(chat)
    [muted] = await chat.command("silenciar")
    assert "/activar" in muted and "¿Qué quieres hacer?" in muted
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.muted
    [unmuted] = await chat.say("/activar")
    assert "/silenciar" in unmuted
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and not person.muted


async def test_my_data_shows_corrects_exports_and_deletes(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await chat.start("volante")
    await chat.press("Acepto")
    await chat.press("Mujer")
    while "Prefiero no decir" in chat.labels():
        await chat.press("Prefiero no decir")
    [shown] = await chat.press("Mis datos")
    for part in (
        "versión 2023-06-01",
        "Género: Mujer",
        "Grupo de edad: prefieres no decir",
        "Llegaste por: otra fuente",
        "Idioma: Español",
        "Mensajes de campaña: activados",
    ):
        assert part in shown
    await chat.press("Corregir una respuesta")
    [question] = await chat.press("Grupo de edad")
    assert "¿En qué grupo de edad estás?" in question
    [corrected] = await chat.press("60 años o más")
    assert "guardamos tu respuesta" in corrected and "Grupo de edad: 60 años o más" in corrected

    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        published = await make_proposal(session, consultation, person)
        await make_proposal(session, consultation, person, publish=False)

    outcome = await chat.send(
        replace(Inbound(kind="button", data=chat.button("Descargar mis datos").data))
    )
    document = outcome.replies[0].document
    assert document is not None and document.filename == "mis-datos.json"
    exported = json.loads(document.content.decode("utf-8"))
    assert exported["participante"]["grupo_de_edad"] == "60_mas"
    assert len(exported["propuestas"]) == 2
    assert "Tus datos:" in outcome.replies[1].text

    [confirm] = await chat.press("Borrar mis datos")
    assert "No se puede deshacer" in confirm and "aportaciones anónimas" in confirm
    await chat.press("No, volver")
    await chat.press("Borrar mis datos")
    [erased] = await chat.press("Sí, borrar todo")
    assert "borramos tus datos personales" in erased and chat.labels() == []
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.erased_at is not None
        assert person.external_id is None and person.age_group is None
        remaining = list(await session.scalars(select(Proposal)))
        assert [p.id for p in remaining] == [published.id]
    [greeting] = await chat.say("hola")
    assert greeting.startswith("¡Hola!")  # the chat is unknown again
