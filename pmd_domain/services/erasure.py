"""ARCO rights: export and erase a participant's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import (
    Certificate,
    ConversationState,
    Delivery,
    Notification,
    Proposal,
    Vote,
)
from pmd_domain.services import outbox
from pmd_domain.services import participants as participants_service


async def export(session: AsyncSession, *, participant_id: int) -> dict[str, Any]:
    """Everything stored about a participant, as plain data (for a downloadable file)."""
    person = await participants_service.get(session, participant_id=participant_id)
    proposals = await session.scalars(select(Proposal).where(Proposal.participant_id == person.id))
    votes = await session.scalars(select(Vote).where(Vote.participant_id == person.id))
    certificate = await session.scalar(
        select(Certificate).where(Certificate.participant_id == person.id)
    )
    return {
        "participante": {
            "canal": person.channel,
            "identificador": person.external_id,
            "aceptó_aviso": person.consent_at.isoformat(),
            "versión_aviso": person.notice_version,
            "idioma": person.language,
            "origen": person.source,
            "género": person.gender,
            "grupo_de_edad": person.age_group,
            "sector": person.sector,
            "código_postal": person.postal_code,
            "sin_mensajes_de_campaña": person.muted,
        },
        "propuestas": [
            {
                "folio": p.folio,
                "eje": p.pillar,
                "tema": p.topic,
                "problema": p.problem,
                "propuesta": p.proposal,
                "visión": p.vision,
                "estado": p.status,
                "apoyos": p.supports,
                "enviada": p.submitted_at.isoformat(),
            }
            for p in proposals
        ],
        "votos": [{"propuesta": v.proposal_id, "voto": v.verdict} for v in votes],
        "constancia": (
            {"folio": certificate.folio, "nombre": certificate.name} if certificate else None
        ),
    }


async def erase(
    session: AsyncSession, *, consultation: Consultation, participant_id: int, now: datetime
) -> None:
    """Remove a participant's personal data.

    The participant row stays as an anonymous shell so that aggregate counts and
    the supports they gave remain consistent; published proposals stay as anonymous
    contributions only when the privacy notice says so.
    """
    person = await participants_service.get(session, participant_id=participant_id)
    keep = consultation.privacy.keep_anonymous_proposals
    doomed = select(Proposal.id).where(Proposal.participant_id == person.id)
    if keep:
        doomed = doomed.where(Proposal.status != "published")
    await session.execute(delete(Vote).where(Vote.proposal_id.in_(doomed)))
    # Duplicates of a deleted proposal lose their original rather than block the erasure.
    await session.execute(
        update(Proposal).where(Proposal.duplicate_of.in_(doomed)).values(duplicate_of=None)
    )
    await session.execute(delete(Proposal).where(Proposal.id.in_(doomed)))
    await session.execute(delete(Certificate).where(Certificate.participant_id == person.id))
    await session.execute(
        delete(ConversationState).where(ConversationState.participant_id == person.id)
    )
    await session.execute(delete(Delivery).where(Delivery.participant_id == person.id))
    await session.execute(delete(Notification).where(Notification.participant_id == person.id))
    if person.external_id is not None:
        # The replies kept for the chat quote what the citizen wrote (the preview).
        await outbox.forget_chat(session, channel=person.channel, external_id=person.external_id)
    person.external_id = None
    person.gender = person.age_group = person.sector = person.postal_code = None
    person.source = None
    person.muted = True
    person.reachable = False
    person.erased_at = now
    await session.flush()
