"""The end of the retention period: personal data deleted or anonymised, as the notice says.

From ``privacy.retention_days`` after the exercise closes (``purge_date``), the hourly
housekeeping (and ``pmd privacy purge``) removes what identifies or describes a
person: every participant becomes an anonymous shell (chat or session id, answers,
postal code, source, language cleared), conversation states (drafts), certificates
(with the names on them), campaign deliveries, pending notifications, votes, and the
proposals that were never published (their texts). Published proposals stay as
anonymous contributions, without the answers they were counted under. The aggregate
counters (anonymous figures of the exercise) are left as they are. Running it again
finds nothing more to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Delete, delete

from pmd_domain.consultation import Consultation
from pmd_domain.db.engine import wipe_after_commit
from pmd_domain.db.models import (
    Certificate,
    ConversationState,
    Delivery,
    Notification,
    Participant,
    Proposal,
    Vote,
)
from pmd_domain.statuses import ProposalStatus


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, in a dry run, would remove)."""

    due: bool
    date: datetime
    participants: int = 0
    proposals: int = 0
    certificates: int = 0
    states: int = 0
    votes: int = 0


def purge_date(consultation: Consultation) -> datetime:
    """When the personal data of the exercise are past their retention period."""
    return consultation.exercise.closes + timedelta(days=consultation.privacy.retention_days)


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    query = select(func.count()).select_from(model)
    for condition in where:
        query = query.where(condition)  # type: ignore[arg-type]
    return int(await session.scalar(query) or 0)


async def purge(
    session: AsyncSession, *, consultation: Consultation, now: datetime, dry_run: bool = False
) -> Purge:
    """Delete or anonymise everything past the retention period (nothing before it)."""
    date = purge_date(consultation)
    if now < date:
        return Purge(due=False, date=date)
    identified = Participant.erased_at.is_(None)
    unpublished = Proposal.status != ProposalStatus.PUBLISHED
    found = Purge(
        due=True,
        date=date,
        participants=await _count(session, Participant, identified),
        proposals=await _count(session, Proposal, unpublished),
        certificates=await _count(session, Certificate),
        states=await _count(session, ConversationState),
        votes=await _count(session, Vote),
    )
    if dry_run or not (found.participants or found.proposals or found.certificates):
        return found
    doomed = select(Proposal.id).where(unpublished).scalar_subquery()
    statements: list[Delete] = [
        delete(Vote),
        delete(ConversationState),
        delete(Certificate),
        delete(Delivery),
        delete(Notification),
    ]
    for statement in statements:
        await session.execute(statement)
    await session.execute(
        update(Proposal).where(Proposal.duplicate_of.in_(doomed)).values(duplicate_of=None)
    )
    await session.execute(delete(Proposal).where(unpublished))
    await session.execute(update(Proposal).values(counted_as=None))
    await session.execute(
        update(Participant)
        .where(identified)
        .values(
            external_id=None,
            gender=None,
            age_group=None,
            sector=None,
            postal_code=None,
            source=None,
            language="es",
            muted=True,
            reachable=False,
            erased_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    wipe_after_commit(session)
    return found
