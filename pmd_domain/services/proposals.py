"""Proposals: submission with a public folio, moderation, outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal
from pmd_domain.errors import (
    Erased,
    ExerciseClosed,
    InvalidChoice,
    LimitReached,
    NotAllowed,
    NotFound,
)
from pmd_domain.search import search_text_of
from pmd_domain.services import exposure
from pmd_domain.services.counters import Bump, bucket, bump
from pmd_domain.services.texts import require_text
from pmd_domain.statuses import ProposalStatus

CROSS_DIMENSIONS = ("gender", "age_group", "sector")
OUTCOMES = ("incluida", "considerada", "no_procede")


def folio_for(consultation: Consultation, proposal_id: int) -> str:
    """The public folio of a proposal, e.g. ``PMD23-000123``."""
    return f"{consultation.exercise.folio_prefix}-{proposal_id:06d}"


def check_pillar_topic(consultation: Consultation, *, pillar: str, topic: str) -> None:
    """Raise InvalidChoice unless ``topic`` belongs to ``pillar``."""
    spec = consultation.pillar(pillar)
    if spec is None or spec.topic(topic) is None:
        raise InvalidChoice(pillar=pillar, topic=topic)


async def submit(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    pillar: str,
    topic: str,
    problem: str,
    proposal: str,
    vision: str | None,
    now: datetime,
) -> Proposal:
    """Record a proposal (status pending) and give it its folio."""
    if participant.erased_at is not None:
        raise Erased("participant")
    if not consultation.is_open(now):
        raise ExerciseClosed()
    check_pillar_topic(consultation, pillar=pillar, topic=topic)
    limits = consultation.limits
    problem = require_text(
        problem, min_chars=limits.problem_min_chars, max_chars=limits.text_max_chars
    )
    proposal = require_text(
        proposal, min_chars=limits.proposal_min_chars, max_chars=limits.text_max_chars
    )
    if vision is not None:
        vision = require_text(vision, min_chars=1, max_chars=limits.vision_max_chars)
    # Conditional increment: the limit holds even for two submissions at once.
    granted = await session.execute(
        update(Participant)
        .where(
            Participant.id == participant.id,
            Participant.proposals_made < limits.proposals_per_participant,
        )
        .values(proposals_made=Participant.proposals_made + 1)
        .execution_options(synchronize_session=False)
    )
    if granted.rowcount != 1:  # type: ignore[attr-defined]
        raise LimitReached(limit=limits.proposals_per_participant)
    record = Proposal(
        participant_id=participant.id,
        pillar=pillar,
        topic=topic,
        problem=problem,
        proposal=proposal,
        vision=vision,
        status=ProposalStatus.PENDING,
        views=0,
        supports=0,
        reports=0,
        submitted_at=now,
        counted_as={dim: getattr(participant, dim) for dim in CROSS_DIMENSIONS},
    )
    session.add(record)
    await session.flush()
    record.folio = folio_for(consultation, record.id)
    record.search_text = search_text_of(record)
    day = local_day(now, consultation.exercise.timezone)
    changes: list[Bump] = [
        ("changes", "total", "all", 1),
        ("proposals", "total", "all", 1),
        ("proposals", "day", day, 1),
        ("proposals", "pillar", pillar, 1),
        ("proposals", "topic", f"{pillar}.{topic}", 1),
        ("proposals", "source", bucket(participant.source), 1),
    ]
    changes += [
        ("proposals", f"{dim}:pillar", f"{bucket(getattr(participant, dim))}|{pillar}", 1)
        for dim in CROSS_DIMENSIONS
    ]
    await bump(session, changes)
    await session.flush()
    return record


async def get(session: AsyncSession, *, proposal_id: int) -> Proposal:
    """A proposal by id, or NotFound."""
    record = await session.get(Proposal, proposal_id)
    if record is None:
        raise NotFound("proposal")
    return record


async def by_folio(session: AsyncSession, *, folio: str) -> Proposal:
    """A proposal by its public folio, or NotFound."""
    record = await session.scalar(select(Proposal).where(Proposal.folio == folio.strip().upper()))
    if record is None:
        raise NotFound("proposal")
    return record


async def of_participant(session: AsyncSession, *, participant_id: int) -> list[Proposal]:
    """A participant's proposals, oldest first."""
    rows = await session.scalars(
        select(Proposal).where(Proposal.participant_id == participant_id).order_by(Proposal.id)
    )
    return list(rows)


async def moderate(
    session: AsyncSession,
    *,
    consultation: Consultation,
    proposal_id: int,
    decision: str,
    staff_id: int,
    now: datetime,
    reason: str | None = None,
    topic: str | None = None,
) -> Proposal:
    """Publish, reject (with a reason) or reassign the topic of a proposal."""
    record = await get(session, proposal_id=proposal_id)
    if decision == "publish":
        if record.status != ProposalStatus.PUBLISHED:
            await bump(
                session,
                [
                    ("proposals", "status", ProposalStatus.PUBLISHED, 1),
                    *exposure.entered(record.views),
                ],
            )
        if record.published_at is None:
            record.published_at = now
        if record.reports > 0:
            # Kept after citizens reported it: confirmed. Its reports stay (the history
            # is not zeroed); only reports from now on can send it back, at the higher
            # threshold of a confirmed proposal (votes.judge).
            record.confirmed_at, record.confirmed_reports = now, record.reports
        record.status, record.moderation_reason, record.review_since = (
            ProposalStatus.PUBLISHED,
            None,
            None,
        )
    elif decision == "reject":
        if not reason or not reason.strip():
            raise NotAllowed("a rejection needs a reason")
        if record.status == ProposalStatus.PUBLISHED:
            await bump(
                session,
                [
                    ("proposals", "status", ProposalStatus.PUBLISHED, -1),
                    *exposure.left(record.views),
                ],
            )
        record.status, record.moderation_reason = ProposalStatus.REJECTED, reason.strip()[:500]
        record.review_since = None
    elif decision == "reassign":
        if topic is None:
            raise InvalidChoice(topic=topic)
        pillar, _, topic_key = topic.partition(".")
        check_pillar_topic(consultation, pillar=pillar, topic=topic_key)
        await bump(
            session,
            [
                ("proposals", "pillar", record.pillar, -1),
                ("proposals", "topic", f"{record.pillar}.{record.topic}", -1),
                ("proposals", "pillar", pillar, 1),
                ("proposals", "topic", f"{pillar}.{topic_key}", 1),
            ],
        )
        record.pillar, record.topic = pillar, topic_key
    else:
        raise InvalidChoice(decision=decision)
    record.moderated_by, record.moderated_at = staff_id, now
    await session.flush()
    return record


def waiting() -> Any:
    """What waits for a moderator: pending proposals, and published ones under review again."""
    return or_(Proposal.status == ProposalStatus.PENDING, Proposal.review_since.is_not(None))


async def pending_queue(
    session: AsyncSession, *, limit: int = 1, after: tuple[int, int] | None = None
) -> list[Proposal]:
    """Proposals waiting for moderation (``waiting()``), reported ones first, then oldest first.

    ``after``: the ``(reports, id)`` of a proposal already shown; the queue goes on
    from there.
    """
    query = select(Proposal).where(waiting())
    if after is not None:
        reports, last_id = after
        query = query.where(
            or_(
                Proposal.reports < reports,
                and_(Proposal.reports == reports, Proposal.id > last_id),
            )
        )
    rows = await session.scalars(query.order_by(Proposal.reports.desc(), Proposal.id).limit(limit))
    return list(rows)


async def set_outcome(
    session: AsyncSession,
    *,
    proposal_id: int,
    outcome: str,
    now: datetime,
    note: str | None = None,
) -> Proposal:
    """Write the analysis outcome (incluida en el PMD / considerada / no procede) on the
    proposal, nothing else: ``analysis.record_outcome`` is the operation staff run (it
    also tells the author)."""
    if outcome not in OUTCOMES:
        raise InvalidChoice(outcome=outcome)
    record = await get(session, proposal_id=proposal_id)
    record.outcome, record.outcome_note, record.outcome_at = outcome, note, now
    await session.flush()
    return record
