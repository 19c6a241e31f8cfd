"""Voting: published proposals of others, least seen first, each judged once."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.services import proposals
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard, write_draft
from tests.factories import make_participant, make_proposal


async def _propose(chat: Chat) -> str:
    await write_draft(chat)
    await chat.say("Poner un semáforo peatonal frente a la escuela.")
    await chat.press("Omitir")
    [sent] = await chat.press("Enviar")
    return sent.split("folio ")[1].split(".")[0]


async def test_a_second_citizen_supports_the_first_ones_proposal(
    db: Database, consultation: Consultation
) -> None:
    conversation = new_conversation(consultation)
    ana = Chat(db, conversation, external_id="1")
    beto = Chat(db, conversation, external_id="2")
    await onboard(ana)
    folio = await _propose(ana)

    await onboard(beto)
    await beto.press("Votar propuestas")
    [none] = await beto.press("Todos los ejes")
    assert "No hay más propuestas por ahora" in none  # still waiting for moderation

    async with db.transaction() as session:
        record = await proposals.by_folio(session, folio=folio)
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=1,
            now=utcnow(),
        )

    await ana.press("Votar propuestas")
    [own] = await ana.press("Todos los ejes")
    assert "No hay más propuestas por ahora" in own  # never one's own

    await beto.press("Votar propuestas")
    await beto.press("Seguridad y paz ciudadana")
    assert f"Propuesta {folio}" in beto.text
    assert "Seguridad y paz ciudadana · Seguridad vial" in beto.text
    assert "Los autos pasan muy rápido" in beto.text
    assert beto.labels() == ["👍 Apoyo", "Saltar", "Reportar", "Menú"]
    shown = beto.last
    [thanks] = await beto.press("Apoyo")
    assert "¡Gracias por tu apoyo!" in thanks
    assert "No hay más propuestas de este eje por ahora" in thanks
    [double] = await beto.press("Apoyo", shown)
    assert "Ya habías votado esta propuesta." in double
    assert "¿Qué propuestas quieres ver?" in double  # what it waits for

    await beto.press("Todos los ejes")
    assert "No hay más propuestas por ahora" in beto.text  # not shown again

    async with db.reading() as session:
        record = await proposals.by_folio(session, folio=folio)
        assert (record.supports, record.views) == (1, 1)
        votes = list(await session.scalars(select(Vote)))
        assert [v.verdict for v in votes] == ["support"]

    await ana.command("menu")
    [mine] = await ana.press("Mi participación")
    assert folio in mine and "publicada" in mine and "Apoyos recibidos: 1" in mine


async def test_skip_and_report_with_confirmation(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        first = await make_proposal(session, consultation, author, topic="agua")
        second = await make_proposal(
            session, consultation, author, topic="alumbrado", problem="Calles oscuras de noche."
        )
    await onboard(chat)
    await chat.press("Votar propuestas")
    await chat.press("Todos los ejes")
    seen = [first.folio if first.folio in chat.text else second.folio]
    await chat.press("Reportar")
    assert "¿Quieres reportar esta propuesta" in chat.text
    await chat.press("No, volver")
    assert f"Propuesta {seen[0]}" in chat.text
    [skipped] = await chat.press("Saltar")
    assert "Listo, la saltamos." in skipped
    seen.append(first.folio if first.folio in skipped else second.folio)
    assert set(seen) == {first.folio, second.folio}
    await chat.press("Reportar")
    [reported] = await chat.press("Sí, reportar")
    assert "Gracias, la revisaremos." in reported
    assert "No hay más propuestas por ahora" in reported
    async with db.reading() as session:
        verdicts = {v.proposal_id: v.verdict for v in await session.scalars(select(Vote))}
        assert sorted(verdicts.values()) == ["report", "skip"]
        reports = {p.id: p.reports for p in await session.scalars(select(Proposal))}
        # recorded, but a participant who joined a moment ago does not count yet
        assert sorted(reports.values()) == [0, 0]
        person = await session.scalar(select(Participant).where(Participant.external_id == "555"))
        assert person is not None and person.supports_given == 0
