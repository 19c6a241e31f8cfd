"""Fixtures for conversation transcripts."""

from __future__ import annotations

import pytest

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
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
