"""One person, one voice across channels: a browser participant merged into a Telegram one.

When a browser participant types the code their Telegram participant got from the
bot, the two are one person. Everything of the browser participant moves to the
Telegram one, keeping one vote per proposal: a proposal both supported counts once
(the Telegram vote stays, the browser's is dropped with what it counted), and a vote
on one's own proposal (now that the two are one) is dropped too. The browser's
answers fill the Telegram participant's unanswered questions; its proposals, its
certificate (when the Telegram participant has none) and its pending notifications
move. The browser participant stays as an empty shell (``merged_into``), counted in
no aggregate, and its chat identity becomes an alias of the Telegram participant
(``linked_identities``), so the browser acts as that participant from then on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import PHONE_CHANNELS, Assurance, of_support
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import (
    Certificate,
    ConversationState,
    LinkedIdentity,
    Notification,
    Participant,
    Proposal,
    Vote,
)
from pmd_domain.errors import CodeExpired
from pmd_domain.services import levels, participants, ranking
from pmd_domain.services.counters import Bump, bucket, bump


async def merge(
    session: AsyncSession,
    *,
    consultation: Consultation,
    browser: Participant,
    into_id: int,
    now: datetime,
) -> Participant:
    """Merge ``browser`` into the participant ``into_id``; the one the browser acts as now."""
    first, second = sorted((browser.id, into_id))
    locked = {
        p.id: p
        for p in await session.scalars(
            select(Participant)
            .where(Participant.id.in_((first, second)))
            .order_by(Participant.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    into = locked.get(into_id)
    if into is None or into.erased_at is not None or into.channel not in PHONE_CHANNELS:
        raise CodeExpired()  # the Telegram participant is gone: as good as an expired code
    identity = browser.external_id
    await _merge_votes(session, consultation, browser, into)
    await _fill_answers(session, consultation, browser, into)
    await session.execute(
        update(Proposal)
        .where(Proposal.participant_id == browser.id)
        .values(participant_id=into.id)
        .execution_options(synchronize_session=False)
    )
    into.proposals_made = (into.proposals_made or 0) + (browser.proposals_made or 0)
    into.supports_given = int(
        await session.scalar(
            select(func.count())
            .select_from(Vote)
            .where(Vote.participant_id == into.id, Vote.verdict == "support")
        )
        or 0
    )
    if (
        await session.scalar(select(Certificate.id).where(Certificate.participant_id == into.id))
        is None
    ):
        await session.execute(
            update(Certificate)
            .where(Certificate.participant_id == browser.id)
            .values(participant_id=into.id)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Notification)
        .where(Notification.participant_id == browser.id)
        .values(participant_id=into.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(ConversationState).where(ConversationState.participant_id == browser.id)
    )
    await participants.uncount(session, consultation=consultation, person=browser)
    browser.external_id = None
    browser.gender = browser.age_group = browser.sector = browser.postal_code = None
    browser.source = browser.origin = None
    browser.muted, browser.reachable = True, False
    browser.merged_into = into.id
    browser.supports_given = browser.proposals_made = 0
    await session.flush()
    if identity is not None:
        session.add(
            LinkedIdentity(
                channel=browser.channel, external_id=identity, participant_id=into.id, linked_at=now
            )
        )
    await session.flush()
    return into


async def _merge_votes(
    session: AsyncSession, consultation: Consultation, browser: Participant, into: Participant
) -> None:
    """One vote per proposal; none on one's own proposal; browser supports become verified."""
    own_ids = select(Proposal.id).where(Proposal.participant_id.in_((browser.id, into.id)))
    into_votes = select(Vote.proposal_id).where(Vote.participant_id == into.id)
    browser_own = select(Proposal.id).where(Proposal.participant_id == browser.id)
    doomed = list(
        await session.scalars(
            select(Vote.id).where(
                or_(
                    and_(
                        Vote.participant_id == browser.id,
                        or_(Vote.proposal_id.in_(into_votes), Vote.proposal_id.in_(own_ids)),
                    ),
                    and_(Vote.participant_id == into.id, Vote.proposal_id.in_(browser_own)),
                )
            )
        )
    )
    await drop(session, consultation=consultation, vote_ids=doomed)
    level = of_support(into.assurance, home_channel=into.channel, channel=browser.channel)
    for old in (Assurance.ANONYMOUS, Assurance.VERIFIED):
        await levels.move_votes(
            session,
            consultation=consultation,
            participant_id=browser.id,
            old=str(old),
            new=str(level),
        )
    await session.execute(
        update(Vote)
        .where(Vote.participant_id == browser.id)
        .values(participant_id=into.id)
        .execution_options(synchronize_session=False)
    )


async def drop(session: AsyncSession, *, consultation: Consultation, vote_ids: list[int]) -> None:
    """Delete votes that must not count twice, taking back the supports they counted."""
    if not vote_ids:
        return
    rows = await session.execute(
        select(
            Vote.proposal_id, Vote.created_at, Vote.assurance, Vote.discounted_at, Proposal.pillar
        )
        .join(Proposal, Proposal.id == Vote.proposal_id)
        .where(Vote.id.in_(vote_ids), Vote.verdict == "support")
    )
    changes = [
        ranking.Change(
            proposal_id,
            pillar,
            ranking.DISCOUNTED if discounted is not None else str(level),
            created,
            -1,
        )
        for proposal_id, created, level, discounted, pillar in rows
    ]
    await session.execute(delete(Vote).where(Vote.id.in_(vote_ids)))
    await ranking.apply(session, consultation=consultation, changes=changes)


async def _fill_answers(
    session: AsyncSession, consultation: Consultation, browser: Participant, into: Participant
) -> None:
    """The browser's answers fill the questions the Telegram participant left unanswered."""
    changes: list[Bump] = []
    for question in consultation.demographics:
        mine, theirs = getattr(browser, question.key, None), getattr(into, question.key, None)
        if mine is None or theirs is not None:
            continue
        setattr(into, question.key, mine)
        if question.kind == "choice":
            changes += [
                ("participants", question.key, bucket(None), -1),
                ("participants", question.key, bucket(mine), 1),
            ]
    await bump(session, changes)
