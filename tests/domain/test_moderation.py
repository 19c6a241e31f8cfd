"""Moderation rules: the queue, decisions, the author's notice; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification, Proposal
from pmd_domain.errors import AlreadyModerated, NotAllowed, TextNotReadable, TextTooShort
from pmd_domain.i18n import Catalogs
from pmd_domain.services import moderation, notifications, participants, staff, stats, votes
from tests.factories import SEASONED, make_participant, make_proposal, report_proposal

MODERATOR, ANALYST = 501, 502


async def test_the_queue_puts_reported_proposals_first_and_walks_past_skipped_ones(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        old = await make_proposal(session, consultation, author, publish=False)
        new = await make_proposal(session, consultation, author, publish=False)
        reported = await make_proposal(session, consultation, author)
        await report_proposal(
            session, consultation, reported.id, times=consultation.limits.reports_to_requeue
        )
    async with db.reading() as session:
        walk, after = [], None
        while (found := await moderation.next_waiting(session, after=after)).proposal:
            assert found.waiting == 3
            walk.append(found.proposal.id)
            after = (found.proposal.reports, found.proposal.id)
        assert walk == [reported.id, old.id, new.id]
        assert (await moderation.next_waiting(session, after=after)).waiting == 3


async def test_decisions_tell_the_author_and_check_role_and_state(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff.add(session, user_id=MODERATOR, role="moderator", now=now)
        await staff.add(session, user_id=ANALYST, role="analyst", now=now)
        author = await make_participant(session, consultation)
        author.language = "en"
        first = await make_proposal(session, consultation, author, publish=False)
        second = await make_proposal(session, consultation, author, publish=False)

    def decide(proposal_id: int, decision: str, staff_id: int = MODERATOR, **extra: str):  # type: ignore[no-untyped-def]
        return moderation.decide(
            session,
            consultation=consultation,
            proposal_id=proposal_id,
            decision=decision,
            staff_id=staff_id,
            admin_ids=[],
            now=now,
            **extra,
        )

    async with db.transaction() as session:
        with pytest.raises(NotAllowed):
            await decide(first.id, "publish", staff_id=ANALYST)
        with pytest.raises(NotAllowed):
            await decide(first.id, "publish", staff_id=999)
        with pytest.raises(TextTooShort):
            await decide(first.id, "reject", reason="no")
        with pytest.raises(TextNotReadable):
            await decide(first.id, "reject", reason="   ")
        await decide(first.id, "reassign", topic="economia.empleo")
        await decide(first.id, "publish")
        with pytest.raises(AlreadyModerated):
            await decide(first.id, "reject", reason="Demasiado tarde")
        key = moderation.quick_reason("advertising")
        await decide(second.id, "reject", reason="Es publicidad o propaganda.", reason_key=key)
    async with db.reading() as session:
        stored = await session.get(Proposal, first.id)
        assert stored is not None
        assert (stored.status, stored.pillar, stored.topic) == ("published", "economia", "empleo")
        sent = list(await session.scalars(select(Notification).order_by(Notification.id)))
    assert [n.text_key for n in sent] == ["notify.published", "notify.rejected"]
    catalogs = Catalogs.load()
    told = notifications.render(
        catalogs, language="en", text_key=sent[1].text_key, params=sent[1].params
    )
    assert "Reason: It is advertising or propaganda." in told
    assert second.folio is not None and second.folio in told


async def test_a_proposal_back_from_reports_republished_tells_nobody_again(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        await report_proposal(
            session, consultation, record.id, times=consultation.limits.reports_to_requeue
        )
        await moderation.decide(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=MODERATOR,
            admin_ids=[MODERATOR],
            now=now,
        )
        assert list(await session.scalars(select(Notification))) == []
        summary = await stats.summary(session, consultation=consultation, now=now)
    assert (summary.published, summary.waiting) == (1, 0)


async def _report(
    database: Database,
    consultation: Consultation,
    reporter_id: int,
    proposal_id: int,
    start: asyncio.Event,
) -> None:
    await start.wait()
    async with database.transaction() as session:
        reporter = await participants.get(session, participant_id=reporter_id)
        await votes.judge(
            session,
            consultation=consultation,
            participant=reporter,
            proposal_id=proposal_id,
            verdict="report",
            now=utcnow(),
        )


async def test_simultaneous_reports_take_a_proposal_off_the_published_count_once(
    database_url: str, consultation: Consultation
) -> None:
    limits = consultation.limits.model_copy(update={"reports_to_requeue": 2})
    consultation = consultation.model_copy(update={"limits": limits})
    first, second = Database(database_url), Database(database_url)
    try:
        async with first.transaction() as session:
            author = await make_participant(session, consultation)
            reporters = [
                await make_participant(session, consultation, now=utcnow() - SEASONED)
                for _ in range(4)
            ]
            record = await make_proposal(session, consultation, author)
        start = asyncio.Event()
        racers = [
            asyncio.create_task(_report(db, consultation, person.id, record.id, start))
            for db, person in zip((first, second, first, second), reporters, strict=True)
        ]
        await asyncio.sleep(0)
        start.set()
        outcomes = await asyncio.gather(*racers, return_exceptions=True)
        async with first.reading() as session:
            stored = await session.get(Proposal, record.id)
            summary = await stats.summary(session, consultation=consultation, now=utcnow())
        assert stored is not None and stored.status == "pending"
        # Reports after the proposal left the voting are refused, never counted twice.
        assert stored.reports == sum(1 for o in outcomes if o is None) >= 2
        assert (summary.published, summary.waiting) == (0, 1)
    finally:
        await first.dispose()
        await second.dispose()
