"""Two inputs of one chat handled at the same moment by two processes."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Inbound
from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant, Proposal
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard, write_draft


async def test_two_simultaneous_taps_on_send_make_one_proposal(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    await write_draft(chat)
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    data = chat.button("Enviar").data
    other = Chat(db, new_conversation(consultation))  # a second process
    first, second = await asyncio.gather(
        chat.send(Inbound(kind="button", data=data, update_id="a-1")),
        other.send(Inbound(kind="button", data=data, update_id="a-2")),
    )
    answers = sorted([first.replies[0].text, second.replies[0].text])
    assert sum("folio PMD23-" in a for a in answers) == 1
    assert sum("Ese botón es de un mensaje anterior" in a for a in answers) == 1
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 1
        state = await session.scalar(select(ConversationState))
        assert state is not None and state.state == "menu"


async def test_two_simultaneous_acceptances_register_once(
    db: Database, consultation: Consultation
) -> None:
    one = Chat(db, new_conversation(consultation))
    two = Chat(db, new_conversation(consultation))
    await one.start()
    data = one.button("Acepto").data
    first, second = await asyncio.gather(
        one.send(Inbound(kind="button", data=data, update_id="b-1")),
        two.send(Inbound(kind="button", data=data, update_id="b-2")),
    )
    assert all("¿Con qué género" in o.replies[0].text for o in (first, second))
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 1
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 1
