"""Mi participación and the campaign source of the deep link."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from pmd_domain.services import proposals
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard
from tests.factories import make_participant, make_proposal


async def test_my_participation_lists_status_outcome_and_supports(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    now = utcnow()
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        pending = await make_proposal(session, consultation, person, publish=False)
        published = await make_proposal(session, consultation, person, topic="alumbrado")
        rejected = await make_proposal(session, consultation, person, publish=False)
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=rejected.id,
            decision="reject",
            staff_id=1,
            now=now,
            reason="Es un reporte de servicio, no una propuesta.",
        )
        await proposals.set_outcome(
            session, proposal_id=published.id, outcome="incluida", now=now, note="Eje 2.2"
        )
        person.supports_given = 3
    [mine] = await chat.press("Mi participación")
    blocks = mine.split("\n\n")
    assert blocks[0] == "Tu participación:"
    assert blocks[1].startswith(f"{pending.folio} · Agua potable y drenaje")
    assert "Estado: en revisión" in blocks[1]
    assert blocks[2].startswith(f"{published.folio} · Alumbrado público")
    assert (
        "Estado: publicada" in blocks[2] and "Resultado: incluida en el PMD (Eje 2.2)" in blocks[2]
    )
    assert "Apoyos recibidos: 0" in blocks[2]
    assert "no publicada — motivo: Es un reporte de servicio" in blocks[3]
    assert blocks[4] == "Apoyos que has dado: 3"
    [ask] = await chat.press("Mi constancia")
    assert "Escribe tu nombre completo" in ask


async def test_a_long_or_odd_source_is_cleaned(db: Database, consultation: Consultation) -> None:
    long_source = "Campana_" + "x" * 52  # 60 characters, the longest source
    listed = {**consultation.sources, long_source.lower(): "Campaña larga"}
    conversation = new_conversation(consultation.model_copy(update={"sources": listed}))
    first = Chat(db, conversation, external_id="1")
    await first.start(long_source)
    assert len(first.button("Acepto").data.encode()) <= 64
    await first.press("Acepto")
    odd = Chat(db, conversation, external_id="2")
    await odd.start("fb alcalde<script>")
    await odd.press("Acepto")
    async with db.reading() as session:
        sources = {p.external_id: p.source for p in await session.scalars(select(Participant))}
    assert sources["1"] == long_source.lower()
    assert sources["2"] == "otra"  # not in the list: recorded as "otra", never printed


async def test_an_unsupported_client_language_gets_spanish(
    db: Database, consultation: Consultation
) -> None:
    chat = Chat(db, new_conversation(consultation), language_hint="fr")
    [greeting] = await chat.start()
    assert greeting.startswith("¡Hola!")
    async with db.transaction() as session:
        await make_participant(session, consultation, external_id="777")
    known = Chat(db, new_conversation(consultation), external_id="777", language_hint="en")
    [menu] = await known.command("menu")
    assert "¿Qué quieres hacer?" in menu  # the stored language wins over the client's
