"""A closed or not-yet-open consultation says so before consent; colonias by name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.demo_exercise import demo_exercise_text
from pmd_domain.consultation.loader import parse_consultation
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


async def test_the_chat_writes_the_exercises_dates_as_the_dashboard_does(db: Database) -> None:
    # On the exercise's calendar (05:00 UTC is still the day before in Pachuca), with the
    # month's name in the citizen's language: "01/02/2027" reads as 2 January in English.
    base = open_consultation()
    opens, closes = datetime(2027, 1, 10, 5, tzinfo=UTC), datetime(2027, 2, 1, 18, tzinfo=UTC)
    exercise = base.exercise.model_copy(update={"opens": opens, "closes": closes})
    later = base.model_copy(update={"exercise": exercise})
    [spanish] = await Chat(db, new_conversation(later)).start()
    assert "abre el 9 de enero de 2027 y cierra el 1 de febrero de 2027" in spanish
    english = Chat(db, new_conversation(later), external_id="556", language_hint="en")
    [first] = await english.start()
    assert "opens on January 9, 2027 and closes on February 1, 2027" in first


def _demo() -> Consultation:
    return parse_consultation(demo_exercise_text(date.today()), name="demo")


async def _to_the_colonia(chat: Chat) -> None:
    await chat.start()
    await chat.press("Acepto")
    while "colonia" not in chat.text:
        await chat.press("Prefiero no decir")
    assert "Escribe el nombre de tu colonia o tu código postal" in chat.text


async def _postal_code(db: Database) -> str | None:
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        return person.postal_code


async def test_a_colonia_by_name_misspelt_and_without_accents(db: Database) -> None:
    chat = Chat(db, new_conversation(_demo()))
    await _to_the_colonia(chat)
    [done] = await chat.say("col. santa demostracion")
    assert "¿Qué quieres hacer?" in done
    assert await _postal_code(db) == "42002"


async def test_a_misspelt_colonia_is_understood(db: Database) -> None:
    chat = Chat(db, new_conversation(_demo()))
    await _to_the_colonia(chat)
    await chat.say("Lomas de Prueva")
    assert "¿Qué quieres hacer?" in chat.text
    assert await _postal_code(db) == "42001"


async def test_an_ambiguous_colonia_offers_a_short_choice(db: Database) -> None:
    chat = Chat(db, new_conversation(_demo()))
    await _to_the_colonia(chat)
    [which] = await chat.say("San Ficticio")
    assert "¿Cuál es la tuya?" in which
    assert {"San Ficticio Norte", "San Ficticio Sur", "Prefiero no decir"} <= set(chat.labels())
    await chat.press("San Ficticio Sur")
    assert "¿Qué quieres hacer?" in chat.text
    assert await _postal_code(db) == "42004"


async def test_an_unknown_colonia_asks_again_and_a_postal_code_still_works(db: Database) -> None:
    chat = Chat(db, new_conversation(_demo()))
    await _to_the_colonia(chat)
    [unknown] = await chat.say("Atlántida")
    assert "No encontramos esa colonia" in unknown and "Prefiero no decir" in chat.labels()
    await chat.say("42 080")
    assert "¿Qué quieres hacer?" in chat.text
    assert await _postal_code(db) == "42080"


async def test_prefer_not_to_say_the_colonia(db: Database) -> None:
    chat = Chat(db, new_conversation(_demo()))
    await _to_the_colonia(chat)
    await chat.press("Prefiero no decir")
    assert "¿Qué quieres hacer?" in chat.text
    assert await _postal_code(db) is None
