"""A closed or not-yet-open consultation says so before consent; colonias by name."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.conversation.types import Button
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from tests.domain.conversation.chat import Chat, new_conversation
from tests.factories import closed_consultation, open_consultation


async def _participants(db: Database) -> int:
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Participant)) or 0)


async def test_a_closed_consultation_says_so_before_consent(db: Database) -> None:
    chat = Chat(db, new_conversation(closed_consultation()))
    [first] = await chat.start()
    assert "ya cerró" in first
    assert "Acepto" not in chat.labels() and "aviso de privacidad" not in first
    # a typed message, a stale consent button: still closed, still nobody registered
    [again] = await chat.say("hola")
    assert "ya cerró" in again
    [pressed] = await chat.tap(Button(label="Acepto", data="c:y"))
    assert "ya cerró" in pressed and "Ya puedes participar" not in pressed
    assert await _participants(db) == 0


async def test_a_consultation_not_yet_open_says_when_it_opens(db: Database) -> None:
    later = open_consultation(now=utcnow() + timedelta(days=10))
    chat = Chat(db, new_conversation(later))
    [first] = await chat.start()
    assert "abre el" in first and "Acepto" not in chat.labels()
    assert await _participants(db) == 0
