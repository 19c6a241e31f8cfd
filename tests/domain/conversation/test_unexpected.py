"""Anything unexpected gets a kind answer that repeats what the bot waits for; nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pmd_domain.consultation import Consultation
from pmd_domain.conversation.types import Button
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard, stored_state, write_draft
from tests.factories import make_participant, make_proposal

MEDIA = ["sticker", "photo", "voice", "location", "document", "contact", "video"]


async def _check_all(chat: Chat, db: Database, prompt: str, *, typing: bool) -> None:
    """Send every kind of unexpected input; each answer repeats ``prompt``; state unchanged."""
    before = await stored_state(db)
    labels = chat.labels()
    answers: list[tuple[str, list[str]]] = []
    for media in MEDIA:
        answers.append((media, await chat.other("media", media)))
    answers.append(("edited", await chat.other("edited")))
    answers.append(("forwarded", await chat.other("forwarded")))
    answers.append(("unknown command", await chat.command("foo")))
    answers.append(("typed unknown command", await chat.say("/xyz hola")))
    answers.append(("help", await chat.command("ayuda")))
    if not typing:
        answers.append(("text", await chat.say("hola")))
        answers.append(("long text", await chat.say("a" * 5000)))
    for what, replies in answers:
        assert len(replies) == 1, what
        assert prompt in replies[0], what
        assert chat.labels() == labels, what
        assert await stored_state(db) == before, what
    assert "solo puedo leer texto y botones" in answers[0][1][0]
    assert "No conozco el comando /foo" in answers[len(MEDIA) + 2][1][0]
    assert "No conozco el comando /xyz" in answers[len(MEDIA) + 3][1][0]
    assert "Ahora mismo estoy esperando esto:" in answers[len(MEDIA) + 4][1][0]


async def test_mid_demographics(chat: Chat, db: Database) -> None:
    await chat.start()
    await chat.press("Acepto")
    await chat.press("Hombre")
    await _check_all(chat, db, "¿En qué grupo de edad estás?", typing=False)
    await chat.press("30 a 44 años")
    assert "¿A qué sector" in chat.text


async def test_mid_proposal_typing_keeps_the_draft(chat: Chat, db: Database) -> None:
    await onboard(chat)
    await write_draft(chat)
    await _check_all(chat, db, "¿Qué propones?", typing=True)
    [long] = await chat.say("a" * 5000)
    assert "5000 caracteres" in long and "1000" in long and "¿Qué propones?" in long
    [empty] = await chat.say("   ")
    assert "No pudimos leer tu texto" in empty and "¿Qué propones?" in empty
    [emoji] = await chat.say("😀😀😀 👍")
    assert "No pudimos leer tu texto" in emoji and "¿Qué propones?" in emoji
    [short] = await chat.say("Topes")
    assert "al menos 10 caracteres" in short and "¿Qué propones?" in short
    state, data = await stored_state(db)
    assert state == "p_proposal"
    assert data["problem"] == "Los autos pasan muy rápido frente a la escuela."
    assert (data["pillar"], data["topic"]) == ("seguridad", "vialidad")
    await chat.say("Poner un semáforo peatonal y topes frente a la escuela.")
    assert "¿Cómo imaginas la seguridad de tu colonia en 2040?" in chat.text


async def test_in_voting(chat: Chat, db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
    await onboard(chat)
    await chat.press("Votar propuestas")
    [shown] = await chat.press("Todos los ejes")
    assert "Falta agua en la colonia" in shown
    await _check_all(chat, db, "Falta agua en la colonia", typing=False)
    async with db.reading() as session:
        again = await session.get(Proposal, record.id)
        assert again is not None and again.views == 1  # redrawing is not another view
    await chat.press("Reportar")
    await _check_all(chat, db, "¿Quieres reportar esta propuesta", typing=False)
    [back] = await chat.press("No, volver")
    assert "Falta agua en la colonia" in back


async def test_a_button_from_an_old_message_is_stale(chat: Chat, db: Database) -> None:
    await chat.start()
    await chat.press("Acepto")
    first_question = chat.last
    await chat.press("Mujer")
    [stale] = await chat.press("Hombre", first_question)
    assert "Ese botón es de un mensaje anterior" in stale
    assert "¿En qué grupo de edad estás?" in stale
    assert chat.last[0].notice == "Ese botón ya no está activo."
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.gender == "mujer"


async def test_double_tap_on_send_makes_one_proposal(chat: Chat, db: Database) -> None:
    await onboard(chat)
    await write_draft(chat)
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    preview = chat.last
    [sent] = await chat.press("Enviar")
    assert "folio PMD23-" in sent
    [again] = await chat.press("Enviar", preview)
    assert "Ese botón es de un mensaje anterior" in again
    assert "¿Qué quieres hacer?" in again
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 1


async def test_consent_buttons_pressed_again(chat: Chat, db: Database) -> None:
    await chat.start()
    greeting = chat.last
    await chat.press("Acepto")
    [again] = await chat.press("Acepto", greeting)
    assert "Ya aceptaste" in again and "¿Con qué género" in again
    [declined_late] = await chat.press("No acepto", greeting)
    assert "¿Con qué género" in declined_late


@pytest.mark.parametrize("kind", ["text", "button", "command"])
async def test_anything_from_an_unknown_chat_gets_the_greeting(
    db: Database, consultation: Consultation, kind: str
) -> None:
    chat = Chat(db, new_conversation(consultation), external_id="999")
    if kind == "text":
        replies = await chat.say("hola")
    elif kind == "button":
        replies = await chat.tap(Button(label="Apoyo", data="7:s:12"))
    elif kind == "command":
        replies = await chat.command("menu")
    else:
        replies = await chat.other(kind, "sticker")
    assert replies[0].startswith("¡Hola!")
    assert "Acepto" in chat.labels()


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("media", "Por ahora solo puedo leer texto y botones."),
        ("edited", "Vi que editaste un mensaje"),
        ("forwarded", "No puedo usar mensajes reenviados."),
    ],
)
async def test_an_unknown_chat_sending_what_the_bot_cannot_read_is_told_so_before_the_greeting(
    db: Database, consultation: Consultation, kind: str, said: str
) -> None:
    """As after the consent: the same kind word first, then what the bot waits for."""
    chat = Chat(db, new_conversation(consultation), external_id="999")
    [reply] = await chat.other(kind, "sticker")
    assert reply.startswith(said)
    assert "¡Hola!" in reply
    assert "Acepto" in chat.labels()
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
