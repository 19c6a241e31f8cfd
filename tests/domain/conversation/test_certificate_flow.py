"""Mi constancia: needs a proposal, asks and checks the name."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate, Participant
from pmd_domain.services import proposals
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
    sent, menu = await chat.say("María José Pérez-Núñez")
    assert "María José Pérez-Núñez" in sent
    assert "¿Qué quieres hacer?" in menu
    document = chat.last[0].document
    assert document is not None
    assert document.mime == "application/pdf"
    assert document.content.startswith(b"%PDF")
    async with db.reading() as session:
        issued = await session.scalar(select(Certificate))
    assert issued is not None
    assert issued.name == "María José Pérez-Núñez"
    assert issued.folio == f"C23-{issued.id:06d}"


async def test_a_rejected_proposal_is_not_enough(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        record = await make_proposal(session, consultation, person, publish=False)
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="reject",
            staff_id=1,
            now=utcnow(),
            reason="Duplicada",
        )
    [needs] = await chat.press("Mi constancia")
    assert "al menos una propuesta registrada" in needs


async def test_an_issued_certificate_can_be_downloaded_again(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    now = utcnow()
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        await make_proposal(session, consultation, person)
        session.add(
            Certificate(
                participant_id=person.id,
                folio="C23-000001",
                token="t" * 32,
                name="Ana López",
                topics=[["servicios", "agua"]],
                issued_at=now,
                updated_at=now,
            )
        )
    [ask] = await chat.press("Mi constancia")
    assert "Tu constancia está a nombre de Ana López." in ask
    assert "Escribe tu nombre completo" in ask
    assert chat.labels() == ["Descargar de nuevo", "Cancelar"]
    sent, menu = await chat.press("Descargar de nuevo")
    assert "Ana López" in sent
    assert "¿Qué quieres hacer?" in menu
    document = chat.last[0].document
    assert document is not None
    assert document.filename.endswith(".pdf")
    async with db.reading() as session:
        again = await session.scalar(select(Certificate))
    assert again is not None
    assert (again.folio, again.token) == ("C23-000001", "t" * 32)
