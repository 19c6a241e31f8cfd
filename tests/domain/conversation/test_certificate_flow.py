"""Mi constancia: needs a proposal, asks and checks the name."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from tests.domain.conversation.chat import Chat
from tests.domain.conversation.conftest import onboard, stored_state
from tests.factories import make_proposal


async def test_without_a_proposal_it_offers_to_make_one(chat: Chat) -> None:
    await onboard(chat)
    [needs] = await chat.press("Mi constancia")
    assert "al menos una propuesta" in needs
    [pillars] = await chat.press("Hacer una propuesta")
    assert "¿De qué eje" in pillars


async def test_the_name_is_asked_and_checked(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        await make_proposal(session, consultation, person, publish=False)
    [ask] = await chat.press("Mi constancia")
    assert "Escribe tu nombre completo como debe aparecer en la constancia." in ask
    for bad in ("R2D2", "Ana", "😀 😀", "x" * 500 + " y"):
        [kind] = await chat.say(bad)
        assert "Escribe tu nombre completo" in kind
        assert await stored_state(db) == ("cert_name", {})
    [kind] = await chat.say("José 3000")
    assert "solo con letras" in kind
    [answer] = await chat.say("María José Pérez-Núñez")
    # Until the certificates service is connected the citizen gets a kind message.
    assert "constancias todavía no están disponibles" in answer
    assert "¿Qué quieres hacer?" in answer
