"""Transcripts: the minimum age, a new privacy notice, and the end of the retention period."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate, ConversationState, Participant, Proposal, StatCounter
from pmd_domain.services import retention
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard, stored_state, write_draft
from tests.factories import make_certificate


async def _people(db: Database) -> int:
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Participant)) or 0)


async def test_someone_under_the_minimum_age_is_told_why_and_nothing_is_stored(
    chat: Chat, db: Database
) -> None:
    [greeting] = await chat.start("fb_alcalde")
    assert "Para participar necesitas tener 18 años o más" in greeting
    assert chat.labels()[1:] == ["Acepto", "No acepto", "Tengo menos de 18 años"]
    [answer] = await chat.press("Tengo menos de 18 años")
    assert "mamá, papá o de quien tenga su tutela" in answer
    assert "no guardamos nada" in answer
    assert "Secretaría de Planeación y Evaluación" in answer
    assert await _people(db) == 0
    [again] = await chat.press("Volver al aviso")
    assert again.startswith("¡Hola!")
    assert await _people(db) == 0


async def test_the_age_question_offers_no_group_under_the_minimum(chat: Chat) -> None:
    await chat.start()
    await chat.press("Acepto")
    await chat.press("Prefiero no decir")  # gender
    assert "¿En qué grupo de edad estás?" in chat.text
    assert "Menos de 18 años" not in chat.labels()
    assert chat.labels()[0] == "18 a 29 años"


def _new_notice(consultation: Consultation) -> Consultation:
    privacy = consultation.privacy.model_copy(update={"version": "2026-12-01"})
    return consultation.model_copy(update={"privacy": privacy})


async def test_a_new_notice_is_accepted_before_anything_else_is_stored(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    await write_draft(chat)  # at "¿Qué propones?"
    state, data = await stored_state(db)
    later = Chat(db, new_conversation(_new_notice(consultation)))
    [asked] = await later.say("Semáforos y reductores de velocidad frente a la escuela.")
    assert "Actualizamos el aviso de privacidad (versión 2026-12-01)" in asked
    assert later.labels()[1:] == ["Acepto", "No acepto"]
    assert later.button("Leer el aviso completo").url == "https://participa.example/privacidad"
    # the text was not taken: the draft is as it was, and nothing else moves
    assert (await stored_state(db))[1]["back_data"] == data
    for attempt in (later.command("menu"), later.command("silenciar"), later.start()):
        [again] = await attempt
        assert "Actualizamos el aviso de privacidad" in again
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.notice_version == consultation.privacy.version
        assert person.muted is False
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0
    [back] = await later.press("Acepto")
    assert "Ya aceptaste el nuevo aviso" in back and "¿Qué propones?" in back
    assert await stored_state(db) == (state, data)
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.notice_version == "2026-12-01"
    await later.say("Semáforos y reductores de velocidad frente a la escuela.")
    assert "2040" in later.text  # the flow goes on as usual


async def test_declining_a_new_notice_stores_nothing_and_offers_erasure(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    later = Chat(db, new_conversation(_new_notice(consultation)))
    await later.press("Mis datos", chat.last)  # an old button: the new notice comes first
    assert "Actualizamos el aviso" in later.text
    [declined] = await later.press("No acepto")
    assert "no guardamos nada nuevo" in declined and "versión 2023-06-01" in declined
    [again] = await later.say("hola")
    assert "Actualizamos el aviso" in again
    await later.press("No acepto")
    await later.press("Borrar mis datos")
    assert "¿Seguro" in later.text or "borrar" in later.text.lower()
    await later.press("Sí, borrar")
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.erased_at is not None
        assert person.external_id is None


async def test_the_retention_job_anonymises_everything_past_its_date(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat, "radio")
    await write_draft(chat)
    await chat.say("Semáforos y reductores de velocidad frente a la escuela.")
    await chat.press("Omitir")
    [sent] = await chat.press("Enviar")
    assert "folio" in sent
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        make_certificate(
            session, person, name="Nezahualcóyotl Pérez", folio="C-000009", token="r" * 32
        )
        counters = {
            (c.metric, c.dimension, c.bucket): c.value
            for c in await session.scalars(select(StatCounter))
        }
    due = retention.purge_date(consultation)
    assert due == consultation.exercise.closes + timedelta(days=365)
    async with db.transaction() as session:
        early = await retention.purge(session, consultation=consultation, now=due - timedelta(1))
    assert early.due is False and early.participants == 0
    async with db.transaction() as session:
        dry = await retention.purge(
            session, consultation=consultation, now=due + timedelta(1), dry_run=True
        )
    assert (dry.participants, dry.proposals, dry.certificates) == (1, 1, 1)
    assert await _people(db) == 1
    async with db.reading() as session:
        assert (await session.scalar(select(Participant))).external_id == "555"  # type: ignore[union-attr]
    async with db.transaction() as session:
        done = await retention.purge(session, consultation=consultation, now=due + timedelta(1))
    assert (done.participants, done.proposals, done.certificates) == (1, 1, 1)
    async with db.reading() as session:
        person = await session.scalar(select(Participant))
        assert person is not None and person.external_id is None
        assert (person.gender, person.source, person.postal_code) == (None, None, None)
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0
        assert await session.scalar(select(func.count()).select_from(Certificate)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
        after = {
            (c.metric, c.dimension, c.bucket): c.value
            for c in await session.scalars(select(StatCounter))
        }
    assert after == counters  # the anonymous figures of the exercise stay as they were
    # the citizen writes again: nobody here knows them, and the exercise has closed
    again = Chat(db, new_conversation(consultation), now=due + timedelta(2))
    [greeting] = await again.say("hola")
    assert "ya cerró" in greeting and "Acepto" not in again.labels()
