"""Voting: show proposals least-seen first and record supports, skips and reports."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.dialects import insert_for
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.errors import (
    AlreadyJudged,
    Erased,
    ExerciseClosed,
    InvalidChoice,
    LimitReached,
    NotPublished,
    OwnProposal,
)
from pmd_domain.services.counters import bump

VERDICTS = ("support", "skip", "report")
_CANDIDATES = 24


async def next_proposal(
    session: AsyncSession,
    *,
    participant: Participant,
    pillar: str | None,
    rng: random.Random | None = None,
) -> Proposal | None:
    """A published proposal the participant has not judged and did not write, least seen first.

    Ties among the least-seen are broken at random so every proposal gets a fair
    number of views. The view is counted by ``record_view`` when it is shown.
    """
    judged = exists().where(Vote.proposal_id == Proposal.id, Vote.participant_id == participant.id)
    query = select(Proposal).where(
        Proposal.status == "published",
        Proposal.participant_id != participant.id,
        ~judged,
    )
    if pillar is not None:
        query = query.where(Proposal.pillar == pillar)
    rows = list(await session.scalars(query.order_by(Proposal.views).limit(_CANDIDATES)))
    if not rows:
        return None
    fewest = rows[0].views
    return (rng or random).choice([r for r in rows if r.views == fewest])


async def record_view(session: AsyncSession, *, proposal_id: int) -> None:
    """Count one showing of a proposal."""
    await session.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id)
        .values(views=Proposal.views + 1)
        .execution_options(synchronize_session=False)
    )


async def judge(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    proposal_id: int,
    verdict: str,
    now: datetime,
) -> Proposal:
    """Support, skip or report a proposal: once per participant and proposal.

    The database's unique constraint decides between two simultaneous taps: the
    second insert does nothing and AlreadyJudged is raised.
    """
    if verdict not in VERDICTS:
        raise InvalidChoice(verdict=verdict)
    if participant.erased_at is not None:
        raise Erased("participant")
    if not consultation.is_open(now):
        raise ExerciseClosed()
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or proposal.status != "published":
        raise NotPublished()
    if proposal.participant_id == participant.id:
        raise OwnProposal()
    if verdict == "support":
        granted = await session.execute(
            update(Participant)
            .where(
                Participant.id == participant.id,
                Participant.supports_given < consultation.limits.supports_per_participant,
            )
            .values(supports_given=Participant.supports_given + 1)
            .execution_options(synchronize_session=False)
        )
        if granted.rowcount != 1:  # type: ignore[attr-defined]
            raise LimitReached(limit=consultation.limits.supports_per_participant)
    statement = (
        insert_for(session, Vote)
        .values(
            proposal_id=proposal_id, participant_id=participant.id, verdict=verdict, created_at=now
        )
        .on_conflict_do_nothing(index_elements=["proposal_id", "participant_id"])
        .returning(Vote.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:
        raise AlreadyJudged()
    if verdict == "support":
        await session.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id)
            .values(supports=Proposal.supports + 1)
            .execution_options(synchronize_session=False)
        )
        await bump(
            session,
            [
                ("supports", "total", "all", 1),
                ("supports", "pillar", proposal.pillar, 1),
                ("supports", "day", local_day(now, consultation.exercise.timezone), 1),
            ],
        )
    elif verdict == "report":
        await session.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id)
            .values(reports=Proposal.reports + 1)
            .execution_options(synchronize_session=False)
        )
        # Back to the moderation queue once enough citizens reported it. Conditional on
        # the row as it is now (locked by the update above), so two reports at once
        # cannot both take it off the published count.
        requeued = await session.execute(
            update(Proposal)
            .where(
                Proposal.id == proposal_id,
                Proposal.status == "published",
                Proposal.reports >= consultation.limits.reports_to_requeue,
            )
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )
        if requeued.rowcount == 1:  # type: ignore[attr-defined]
            await bump(session, [("proposals", "status", "published", -1)])
    await session.refresh(proposal)
    return proposal
