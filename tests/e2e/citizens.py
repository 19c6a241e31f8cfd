"""Transcript pieces shared by the e2e conversations, and database look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant, Proposal, Vote
from tests.botapi import ChatSession, press

# Short waits: the local server and the bot answer in milliseconds.
STEP: dict[str, Any] = {"quiet": 0.08, "timeout": 10.0}

PROBLEM = "Las luminarias de la calle Allende llevan meses apagadas y de noche es peligroso."
PROPOSAL = "Cambiar las luminarias por LED y publicar un número para reportar las fundidas."
VISION = "Calles iluminadas donde se pueda caminar tranquila a cualquier hora."

ONBOARDING = [
    ("/start fb_alcalde", "Te damos la bienvenida"),
    (press("Acepto"), "Pregunta 1 de 4"),
    (press("Mujer"), "Pregunta 2 de 4"),
    (press("30 a 44 años"), "Pregunta 3 de 4"),
    (press("Estudiante"), "Pregunta 4 de 4"),
    ("42080", "¿Qué quieres hacer?"),
]
UP_TO_PROBLEM = [
    (press("Hacer una propuesta"), "¿De qué eje es tu propuesta?"),
    (press("2. Servicios públicos y desarrollo sostenible"), "¿De qué tema?"),
    (press("Alumbrado público"), "¿Cuál es el problema?"),
]
REST_OF_PROPOSAL = [
    (PROBLEM, "¿Qué propones?"),
    (PROPOSAL, "¿Cómo imaginas los servicios públicos"),
    (VISION, "Revisa tu propuesta:"),
]


async def onboard_quickly(chat: ChatSession, start: str = "/start") -> None:
    """Accept the notice and skip every demographic question."""
    await chat.run([(start, "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")], **STEP)
    while "Prefiero no decir" in chat.buttons():
        await chat.press("Prefiero no decir", **STEP)
    last = chat.last()
    assert last is not None and last.text is not None and "¿Qué quieres hacer?" in last.text


async def count(database: Database, model: Any) -> int:
    """How many rows ``model`` has."""
    async with database.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def participant(database: Database, chat_id: int) -> Participant | None:
    """The participant of a Telegram chat."""
    async with database.reading() as session:
        return await session.scalar(
            select(Participant).where(
                Participant.channel == "telegram", Participant.external_id == str(chat_id)
            )
        )


async def proposals_of(database: Database, chat_id: int) -> list[Proposal]:
    """The proposals of a Telegram chat's participant."""
    person = await participant(database, chat_id)
    assert person is not None
    async with database.reading() as session:
        rows = await session.scalars(
            select(Proposal).where(Proposal.participant_id == person.id).order_by(Proposal.id)
        )
        return list(rows)


__all__ = ["ConversationState", "Vote"]
