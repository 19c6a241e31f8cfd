"""Fixtures for conversation transcripts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant
from tests.domain.conversation.chat import Chat, new_conversation


@pytest.fixture
def chat(db: Database, consultation: Consultation) -> Chat:
    """A Spanish-speaking citizen's chat with the open default consultation."""
    return Chat(db, new_conversation(consultation))


async def onboard(chat: Chat, source: str = "") -> None:
    """Accept the notice and skip every demographic question."""
    await chat.start(source)
    await chat.press("Acepto")
    while "Prefiero no decir" in chat.labels():
        await chat.press("Prefiero no decir")
    assert "¿Qué quieres hacer?" in chat.text


async def stored_state(db: Database, external_id: str = "555") -> tuple[str, dict[str, Any]]:
    """The stored state name and data of a chat."""
    async with db.reading() as session:
        row = (
            await session.execute(
                select(ConversationState.state, ConversationState.data)
                .join(Participant, Participant.id == ConversationState.participant_id)
                .where(Participant.external_id == external_id)
            )
        ).one()
    data = {k: v for k, v in dict(row[1]).items() if k != "_s"}
    return str(row[0]), data


async def write_draft(chat: Chat) -> None:
    """Go from the menu to the proposal's vision question."""
    await chat.press("Hacer una propuesta")
    await chat.press("Seguridad y paz ciudadana")
    await chat.press("Seguridad vial")
    await chat.say("Los autos pasan muy rápido frente a la escuela.")
    assert "¿Qué propones?" in chat.text
