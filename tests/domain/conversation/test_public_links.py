"""Mi participación and the outcome message lead to the proposal's public page."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from pmd_domain.i18n import Catalogs
from pmd_domain.services import notifications, proposals
from tests.domain.conversation.chat import Chat, FixedLinks
from tests.domain.conversation.conftest import onboard
from tests.factories import make_proposal


async def test_my_participation_links_each_published_proposal_to_its_page(
    chat: Chat, db: Database, consultation: Consultation
) -> None:
    await onboard(chat)
    async with db.transaction() as session:
        person = await session.scalar(select(Participant))
        assert person is not None
        pending = await make_proposal(session, consultation, person, publish=False)
        published = await make_proposal(session, consultation, person, topic="alumbrado")
    [mine] = await chat.press("Mi participación")
    blocks = mine.split("\n\n")
    assert f"Su página pública: https://participa.example/propuestas/{published.folio}" in blocks[2]
    assert "/propuestas/" not in blocks[1]  # still in moderation: no public page yet
    assert pending.folio in blocks[1]


async def test_the_outcome_message_links_the_public_page() -> None:
    params = {"folio": "PMD23-000007", "outcome": "incluida", "note": None}
    text = notifications.render(
        Catalogs.load(),
        language="es",
        text_key=notifications.OUTCOME_KEY,
        params=params,
        links=FixedLinks(),
    )
    assert "incluida en el Plan Municipal de Desarrollo" in text
    assert (
        "Mírala con su respuesta y compártela: https://participa.example/propuestas/PMD23-000007"
        in text
    )
    english = notifications.render(
        Catalogs.load(),
        language="en",
        text_key=notifications.OUTCOME_KEY,
        params=params,
        links=FixedLinks(),
    )
    assert (
        "See it with its answer and share it: https://participa.example/propuestas/PMD23-000007"
        in english
    )
    # Without links (a sender that has none) the message is as before.
    assert "/propuestas/" not in notifications.render(
        Catalogs.load(), language="es", text_key=notifications.OUTCOME_KEY, params=params
    )


async def test_a_published_proposal_keeps_its_first_publication_date(
    db: Database, consultation: Consultation
) -> None:
    first = utcnow()
    async with db.transaction() as session:
        person = await session.scalar(select(Participant)) or None
        from tests.factories import make_participant

        author = person or await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author, now=first)
        assert record.published_at == first
        later = utcnow()
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="reassign",
            staff_id=1,
            now=later,
            topic="servicios.alumbrado",
        )
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=1,
            now=later,
        )
        assert record.published_at == first and record.moderated_at == later
