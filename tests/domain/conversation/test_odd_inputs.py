"""Crafted and odd inputs never raise out of the engine and always get an answer."""

from __future__ import annotations

from sqlalchemy import func, select

from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Inbound
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from tests.domain.conversation.chat import Chat
from tests.domain.conversation.conftest import onboard, stored_state, write_draft
from tests.factories import make_participant, make_proposal

ODD_BUTTONS = [
    "",
    ":",
    "::::",
    "²:s:1",
    "1:s:99999999999999999999999999",
    "999999999999999999999999999999:x",
    "l:xx",
    "l:",
    "c:zz",
    "x:y:z",
    "🙂",
]
ODD_TEXTS = ["", " ", "\x00\x01", "/", "/" + "a" * 300, "{title} {0} %s", "a" * 5000, "😀"]


async def _throw_everything(chat: Chat) -> None:
    for data in ODD_BUTTONS:
        outcome = await chat.send(Inbound(kind="button", data=data))
        assert outcome.replies and outcome.replies[0].text, data
    for text in ODD_TEXTS:
        outcome = await chat.send(Inbound(kind="text", text=text))
        assert outcome.replies and outcome.replies[0].text, text
    for command in ("", "START", "idioma@pmd_bot", "x" * 200):
        outcome = await chat.send(Inbound(kind="command", command=command))
        assert outcome.replies and outcome.replies[0].text, command
    outcome = await chat.send(Inbound(kind="media"))
    assert outcome.replies


async def test_a_stranger(chat: Chat, db: Database) -> None:
    await _throw_everything(chat)
    await chat.start("\x00bad source ☃")
    assert chat.text.startswith("¡Hola!")
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
    await chat.send(Inbound(kind="button", data="c:y:" + "ñ" * 20))
    assert "¿Con qué género" in chat.text
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.source == "otra"


async def test_mid_proposal_and_voting(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        await make_proposal(session, consultation, author)
    await onboard(chat)
    await write_draft(chat)
    before = await stored_state(db)
    for data in ODD_BUTTONS:
        await chat.send(Inbound(kind="button", data=data))
        assert "¿Qué propones?" in chat.text, data
    assert (await stored_state(db))[1] == before[1]
    await chat.command("cancelar")
    await chat.press("Votar propuestas")
    await chat.press("Todos los ejes")
    await _throw_everything(chat)
    await chat.command("menu")
    await chat.press("Mis datos")
    await _throw_everything(chat)
