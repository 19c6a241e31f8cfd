"""ARCO rights: export and erase a participant's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.engine import wipe_after_commit
from pmd_domain.db.models import (
    Certificate,
    ConversationState,
    Delivery,
    LinkedIdentity,
    Notification,
    Proposal,
    VerificationCode,
    Vote,
)
from pmd_domain.services import cache_versions, exposure, outbox, ranking, whatsapp_contacts
from pmd_domain.services import participants as participants_service
from pmd_domain.services.counters import NO_ANSWER, Bump, bucket, bump
from pmd_domain.services.proposals import CROSS_DIMENSIONS
from pmd_domain.statuses import ProposalStatus


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def export(session: AsyncSession, *, participant_id: int) -> dict[str, Any]:
    """Everything stored about a participant, as plain data (for a downloadable file).

    The ARCO right of access: the participant row, their proposals (with moderation
    and outcome), their supports, skips and reports, their certificate, where they are
    in the conversation (drafts included), and the messages queued or sent to them.
    """
    person = await participants_service.get(session, participant_id=participant_id)
    proposals = await session.scalars(
        select(Proposal).where(Proposal.participant_id == person.id).order_by(Proposal.id)
    )
    votes = await session.execute(
        select(Proposal.folio, Vote.verdict, Vote.created_at)
        .join(Proposal, Proposal.id == Vote.proposal_id)
        .where(Vote.participant_id == person.id)
        .order_by(Vote.id)
    )
    certificate = await session.scalar(
        select(Certificate).where(Certificate.participant_id == person.id)
    )
    state = await session.get(ConversationState, person.id)
    notifications = await session.scalars(
        select(Notification).where(Notification.participant_id == person.id)
    )
    deliveries = await session.scalars(
        select(Delivery).where(Delivery.participant_id == person.id).order_by(Delivery.id)
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
            "respuestas_actualizadas": _when(person.demographics_at),
            "sin_mensajes_de_campaña": person.muted,
            "tipo_de_participación": person.assurance,
            "alcanzable": person.reachable,
            "apoyos_dados": person.supports_given,
            "propuestas_hechas": person.proposals_made,
            "registro": person.created_at.isoformat(),
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
                "motivo_de_moderación": p.moderation_reason,
                "apoyos": p.supports,
                "resultado": p.outcome,
                "nota_del_resultado": p.outcome_note,
                "contada_como": p.counted_as,
                "enviada": p.submitted_at.isoformat(),
            }
            for p in proposals
        ],
        "votos": [
            {"propuesta": folio, "voto": verdict, "fecha": _when(created_at)}
            for folio, verdict, created_at in votes
        ],
        "constancia": (
            {
                "folio": certificate.folio,
                "nombre": certificate.name,
                "temas": certificate.topics,
                "emitida": _when(certificate.issued_at),
                "revocada": _when(certificate.revoked_at),
                "motivo_de_revocación": certificate.revoke_reason,
            }
            if certificate
            else None
        ),
        "conversación": (
            {
                "paso": state.state,
                "datos": {k: v for k, v in (state.data or {}).items() if k != "_s"},
                "actualizada": _when(state.updated_at),
            }
            if state
            else None
        ),
        "avisos_pendientes": [
            {"mensaje": n.text_key, "datos": n.params, "creado": _when(n.created_at)}
            for n in notifications
            if n.sent_at is None
        ],
        "mensajes_de_campaña": [
            {"campaña": d.campaign_id, "estado": d.status, "enviado": _when(d.sent_at)}
            for d in deliveries
        ],
    }


async def erase(
    session: AsyncSession, *, consultation: Consultation, participant_id: int, now: datetime
) -> None:
    """Remove a participant's personal data and take them out of every aggregate.

    The participant row stays as an anonymous shell (the author of the published
    proposals kept as anonymous contributions, when the privacy notice says so; those
    stay counted by pillar, topic and day, without the author's answers or source).
    Everything else they gave leaves the counters with them: their answers, source and
    day of registration, their other proposals, and their supports, skips and reports
    (the notice lists "las propuestas y apoyos que registres" among their data). The
    public breakdowns show the change at their next publication (``disclosure``).
    """
    person = await participants_service.get(session, participant_id=participant_id)
    keep = consultation.privacy.keep_anonymous_proposals
    zone = consultation.exercise.timezone
    await participants_service.uncount(session, consultation=consultation, person=person)
    changes: list[Bump] = []
    own = list(await session.scalars(select(Proposal).where(Proposal.participant_id == person.id)))
    doomed = [p.id for p in own if not (keep and p.status == ProposalStatus.PUBLISHED)]
    for record in own:
        frozen = record.counted_as or {d: getattr(person, d) for d in CROSS_DIMENSIONS}
        cells = [(d, bucket(frozen.get(d))) for d in CROSS_DIMENSIONS]
        if record.id in doomed:
            changes += [
                ("proposals", "total", "all", -1),
                ("proposals", "day", local_day(record.submitted_at, zone), -1),
                ("proposals", "pillar", record.pillar, -1),
                ("proposals", "topic", f"{record.pillar}.{record.topic}", -1),
                ("proposals", "source", bucket(person.source), -1),
            ]
            changes += [("proposals", f"{d}:pillar", f"{b}|{record.pillar}", -1) for d, b in cells]
            if record.status == ProposalStatus.PUBLISHED:
                changes.append(("proposals", "status", ProposalStatus.PUBLISHED, -1))
                changes += exposure.left(record.views)
        else:  # kept as an anonymous contribution: counted without its author
            changes += [
                ("proposals", "source", bucket(person.source), -1),
                ("proposals", "source", NO_ANSWER, 1),
            ]
            for dim, value in cells:
                changes += [
                    ("proposals", f"{dim}:pillar", f"{value}|{record.pillar}", -1),
                    ("proposals", f"{dim}:pillar", f"{NO_ANSWER}|{record.pillar}", 1),
                ]
            record.counted_as = None
    # Supports leave the counts: theirs, and those others gave to proposals deleted here
    # (each at its assurance level, or among the discounted ones; see ranking).
    judged = (
        await session.execute(
            select(
                Vote.proposal_id,
                Vote.verdict,
                Vote.created_at,
                Vote.assurance,
                Vote.discounted_at,
                Proposal.pillar,
            )
            .join(Proposal, Proposal.id == Vote.proposal_id)
            .where(or_(Vote.participant_id == person.id, Vote.proposal_id.in_(doomed)))
        )
    ).all()
    await ranking.apply(
        session,
        consultation=consultation,
        changes=[
            ranking.Change(
                proposal_id=proposal_id,
                pillar=pillar,
                level=ranking.DISCOUNTED if discounted_at is not None else str(level),
                moment=created_at,
                delta=-1,
            )
            for proposal_id, verdict, created_at, level, discounted_at, pillar in judged
            if verdict == "support"
        ],
    )
    reported = [pid for pid, verdict, *_ in judged if verdict == "report" and pid not in doomed]
    for proposal_id in reported:
        await session.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id)
            .values(reports=Proposal.reports - 1)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        delete(Vote).where(or_(Vote.participant_id == person.id, Vote.proposal_id.in_(doomed)))
    )
    # Duplicates of a deleted proposal lose their original rather than block the erasure.
    await session.execute(
        update(Proposal).where(Proposal.duplicate_of.in_(doomed)).values(duplicate_of=None)
    )
    await session.execute(delete(Proposal).where(Proposal.id.in_(doomed)))
    await session.execute(delete(Certificate).where(Certificate.participant_id == person.id))
    await cache_versions.bump(session, cache_versions.CERTIFICATES)  # no cached page stays
    await session.execute(
        delete(ConversationState).where(ConversationState.participant_id == person.id)
    )
    await session.execute(delete(Delivery).where(Delivery.participant_id == person.id))
    await session.execute(delete(Notification).where(Notification.participant_id == person.id))
    if person.external_id is not None:
        # The replies kept for the chat quote what the citizen wrote (the preview).
        await outbox.forget_chat(session, channel=person.channel, external_id=person.external_id)
        # A WhatsApp chat's sealed number goes too.
        await whatsapp_contacts.forget(session, external_id=person.external_id)
    # No browser acts as them any more, and their unused link codes go.
    await session.execute(delete(LinkedIdentity).where(LinkedIdentity.participant_id == person.id))
    await session.execute(
        delete(VerificationCode).where(
            VerificationCode.participant_id == person.id, VerificationCode.used_at.is_(None)
        )
    )
    person.origin = None
    await bump(session, changes)
    person.external_id = None
    person.gender = person.age_group = person.sector = person.postal_code = None
    person.source = None
    person.muted = True
    person.reachable = False
    person.supports_given = 0
    person.proposals_made = len(own) - len(doomed)
    person.erased_at = now
    await session.flush()
    wipe_after_commit(session)
