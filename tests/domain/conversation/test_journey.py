"""The whole journey of a citizen, read like the chat."""

from __future__ import annotations

from sqlalchemy import func, select

from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant, ProcessedUpdate, Proposal
from tests.domain.conversation.chat import Chat


async def test_from_start_to_folio(chat: Chat, db: Database) -> None:
    [greeting] = await chat.start("fb_alcalde")
    assert greeting.startswith("¡Hola!")
    assert "Mis datos" in greeting  # the short privacy notice
    assert chat.button("Leer el aviso completo").url == "https://participa.example/privacidad"
    assert chat.labels()[1:] == ["Acepto", "No acepto", "Tengo menos de 18 años"]

    [first] = await chat.press("Acepto")
    assert "¿Con qué género te identificas?" in first
    assert "Atrás" not in " ".join(chat.labels())
    assert "Prefiero no decir" in chat.labels()
    [second] = await chat.press("Mujer")
    assert "¿En qué grupo de edad estás?" in second
    assert "⬅️ Atrás" in chat.labels()
    await chat.press("Prefiero no decir")
    await chat.press("Estudiante")
    [retry] = await chat.say("42OOO")
    assert "5 dígitos" in retry and "código postal" in retry
    [menu] = await chat.say("42000")
    assert "¿Qué quieres hacer?" in menu
    assert chat.labels() == [
        "Hacer una propuesta",
        "Votar propuestas",
        "Mi participación",
        "Mi constancia",
        "Mis datos",
        "Ayuda",
    ]

    [pillars] = await chat.press("Hacer una propuesta")
    assert "¿De qué eje" in pillars
    await chat.press("Servicios públicos")
    await chat.press("Agua potable y drenaje")
    assert "¿Cuál es el problema?" in chat.text
    await chat.say("En mi colonia falta agua tres días por semana.")
    assert "¿Qué propones?" in chat.text
    await chat.say("Reparar las fugas y publicar el calendario de suministro.")
    assert "¿Cómo imaginas los servicios públicos y el medio ambiente de Pachuca en 2040?" in (
        chat.text
    )
    [preview] = await chat.say("Con agua todos los días y calles limpias.")
    assert "Revisa tu propuesta" in preview
    for part in (
        "Servicios públicos y desarrollo sostenible",
        "Agua potable y drenaje",
        "En mi colonia falta agua",
        "Reparar las fugas",
        "Visión 2040:\nCon agua todos los días",
    ):
        assert part in preview
    [sent] = await chat.press("Enviar")
    assert "Tu propuesta quedó registrada con el folio PMD23-" in sent
    assert "La revisaremos antes de publicarla." in sent

    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        assert (person.source, person.gender, person.age_group) == ("fb_alcalde", "mujer", None)
        assert (person.sector, person.postal_code) == ("estudiante", "42000")
        record = await session.scalar(select(Proposal))
        assert record is not None and record.status == "pending"
        assert record.folio is not None and record.folio in sent
        assert record.problem == "En mi colonia falta agua tres días por semana."
        assert record.vision == "Con agua todos los días y calles limpias."
        state = await session.get(ConversationState, person.id)
        assert state is not None and state.state == "menu"


async def test_refusal_stores_nothing_personal(chat: Chat, db: Database) -> None:
    await chat.start("fb_alcalde")
    [bye] = await chat.press("No acepto")
    assert "no guardamos nada" in bye
    [again] = await chat.say("hola")
    assert again.startswith("¡Hola!")
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
        ids = list(await session.scalars(select(ProcessedUpdate.update_id)))
        assert all(i.isdigit() for i in ids)  # only the channel's update numbers


async def test_changing_ones_mind_keeps_the_campaign_source(chat: Chat, db: Database) -> None:
    await chat.start("radio")
    await chat.press("No acepto")
    [greeting] = await chat.press("Cambié de opinión")
    assert greeting.startswith("¡Hola!")
    await chat.press("Acepto")
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.source == "radio"
