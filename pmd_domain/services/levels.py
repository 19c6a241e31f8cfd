"""Raising a participant's assurance level, with the supports they already gave."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import Assurance
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.services import ranking
from pmd_domain.services.counters import bump


async def raise_to(
    session: AsyncSession, *, consultation: Consultation, participant: Participant, level: Assurance
) -> None:
    """Give ``participant`` the level ``level``; their supports of the old level move with them."""
    old = participant.assurance
    if old == level:
        return
    await move_votes(
        session, consultation=consultation, participant_id=participant.id, old=old, new=level
    )
    participant.assurance = str(level)
    await bump(
        session,
        [("participants", "assurance", old, -1), ("participants", "assurance", str(level), 1)],
    )
    await session.flush()


async def move_votes(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant_id: int,
    old: str,
    new: str,
) -> None:
    """The participant's votes of level ``old`` become ``new`` (supports and counters follow)."""
    if old == new:
        return
    rows = await session.execute(
        select(Vote.proposal_id, Vote.created_at, Proposal.pillar)
        .join(Proposal, Proposal.id == Vote.proposal_id)
        .where(
            Vote.participant_id == participant_id,
            Vote.assurance == old,
            Vote.verdict == "support",
            Vote.discounted_at.is_(None),
        )
    )
    changes = []
    for proposal_id, created, pillar in rows:
        changes.append(ranking.Change(proposal_id, pillar, old, created, -1))
        changes.append(ranking.Change(proposal_id, pillar, new, created, 1))
    await session.execute(
        update(Vote)
        .where(Vote.participant_id == participant_id, Vote.assurance == old)
        .values(assurance=new)
        .execution_options(synchronize_session=False)
    )
    await ranking.apply(session, consultation=consultation, changes=changes)
