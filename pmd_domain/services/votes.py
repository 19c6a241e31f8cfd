"""Voting: show proposals least-seen first and record supports, skips and reports."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import Assurance, of_support
from pmd_domain.clients import Client
from pmd_domain.consultation import Consultation
from pmd_domain.db.dialects import insert_for
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.errors import (
    AddressLimit,
    AlreadyJudged,
    Erased,
    ExerciseClosed,
    InvalidChoice,
    LimitReached,
    NotPublished,
    OwnProposal,
)
from pmd_domain.services import activity, exposure, ranking
from pmd_domain.services.counters import bump
from pmd_domain.statuses import ProposalStatus

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
        Proposal.status == ProposalStatus.PUBLISHED,
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
    """Count one showing of a published proposal (and move it in the exposure histogram)."""
    views = await session.scalar(
        update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.status == ProposalStatus.PUBLISHED)
        .values(views=Proposal.views + 1)
        .returning(Proposal.views)
        .execution_options(synchronize_session=False)
    )
    if views is not None:
        await bump(session, exposure.viewed(int(views)))


async def judge(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    proposal_id: int,
    verdict: str,
    now: datetime,
    channel: str | None = None,
    client: Client | None = None,
) -> Proposal:
    """Support, skip or report a proposal: once per participant and proposal.

    The database's unique constraint decides between two simultaneous taps: the
    second insert does nothing and AlreadyJudged is raised. The vote keeps the channel
    it came from (``channel``, the participant's own by default) and its assurance
    level; ``client`` is the browser's address, for the per-address limits.
    """
    if verdict not in VERDICTS:
        raise InvalidChoice(verdict=verdict)
    if participant.erased_at is not None:
        raise Erased("participant")
    if not consultation.is_open(now):
        raise ExerciseClosed()
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or proposal.status != ProposalStatus.PUBLISHED:
        raise NotPublished()
    if proposal.participant_id == participant.id:
        raise OwnProposal()
    channel = channel or participant.channel
    level = of_support(participant.assurance, home_channel=participant.channel, channel=channel)
    await _within_address_limit(session, consultation, client, verdict, now)
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
            proposal_id=proposal_id,
            participant_id=participant.id,
            verdict=verdict,
            created_at=now,
            channel=channel,
            assurance=str(level),
            origin=client.address if client is not None and not client.kiosk else None,
        )
        .on_conflict_do_nothing(index_elements=["proposal_id", "participant_id"])
        .returning(Vote.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:
        raise AlreadyJudged()
    if verdict == "support":
        change = ranking.Change(proposal_id, proposal.pillar, str(level), now)
        await ranking.apply(session, consultation=consultation, changes=[change])
        await activity.note(
            session, kind=activity.Kind.SUPPORTS_BY_PROPOSAL, key=str(proposal_id), now=now
        )
        if participant.source:
            await activity.note(
                session, kind=activity.Kind.SUPPORTS_BY_SOURCE, key=participant.source, now=now
            )
    elif verdict == "report" and report_counts(consultation, participant, level, now):
        await _count_report(session, consultation, proposal_id, now)
    await session.refresh(proposal)
    return proposal


async def _within_address_limit(
    session: AsyncSession,
    consultation: Consultation,
    client: Client | None,
    verdict: str,
    now: datetime,
) -> None:
    if client is None or not client.limited or verdict == "skip":
        return
    assert client.address is not None
    limits = consultation.integrity.address_limits
    kind, window = (
        (activity.Kind.SUPPORTS_BY_ADDRESS, limits.supports)
        if verdict == "support"
        else (activity.Kind.REPORTS_BY_ADDRESS, limits.reports)
    )
    if not await activity.take(session, kind=kind, key=client.address, window=window, now=now):
        raise AddressLimit(action=verdict)


def report_counts(
    consultation: Consultation, participant: Participant, level: Assurance, now: datetime
) -> bool:
    """Whether a report counts: a counted level, from someone who is not brand new."""
    rules = consultation.integrity.reports
    joined = participant.created_at or now
    return consultation.integrity.counts(level) and joined <= now - timedelta(
        minutes=rules.min_account_minutes
    )


BASIS_POINTS = 10_000


async def _count_report(
    session: AsyncSession, consultation: Consultation, proposal_id: int, now: datetime
) -> None:
    """Count a report; enough of them (relative to views) send the proposal to review.

    A proposal never confirmed leaves the voting for the moderation queue, as before.
    One a moderator already kept after reports needs the higher ``confirmed_*``
    threshold of reports since then, and stays published, marked "en revisión", while
    it is reviewed again. Each condition is on the row as it is now (locked by the
    first update), so simultaneous reports act once.
    """
    await session.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id)
        .values(reports=Proposal.reports + 1)
        .execution_options(synchronize_session=False)
    )
    rules = consultation.integrity.reports
    base_share = round(rules.share_of_views * BASIS_POINTS)
    requeued = await session.execute(
        update(Proposal)
        .where(
            Proposal.id == proposal_id,
            Proposal.status == ProposalStatus.PUBLISHED,
            Proposal.confirmed_at.is_(None),
            Proposal.reports >= consultation.limits.reports_to_requeue,
            Proposal.reports * BASIS_POINTS >= Proposal.views * base_share,
        )
        .values(status=ProposalStatus.PENDING)
        .returning(Proposal.views)
        .execution_options(synchronize_session=False)
    )
    left = requeued.scalar_one_or_none()
    if left is not None:
        await bump(
            session, [("proposals", "status", ProposalStatus.PUBLISHED, -1), *exposure.left(left)]
        )
        return
    since = Proposal.reports - Proposal.confirmed_reports
    confirmed_share = round(rules.confirmed_share_of_views * BASIS_POINTS)
    await session.execute(
        update(Proposal)
        .where(
            Proposal.id == proposal_id,
            Proposal.status == ProposalStatus.PUBLISHED,
            Proposal.confirmed_at.is_not(None),
            Proposal.review_since.is_(None),
            since >= rules.confirmed_min_reports,
            since * BASIS_POINTS >= Proposal.views * confirmed_share,
        )
        .values(review_since=now)
        .execution_options(synchronize_session=False)
    )
