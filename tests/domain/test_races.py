"""Simultaneous taps: the database's constraints decide, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal, StatCounter, Vote
from pmd_domain.errors import AlreadyJudged
from pmd_domain.services import participants, votes
from tests.factories import make_participant, make_proposal


async def _support(
    database: Database,
    consultation: Consultation,
    voter_id: int,
    proposal_id: int,
    start: asyncio.Event,
) -> str:
    await start.wait()
    try:
        async with database.transaction() as session:
            voter = await participants.get(session, participant_id=voter_id)
            await votes.judge(
                session,
                consultation=consultation,
                participant=voter,
                proposal_id=proposal_id,
                verdict="support",
                now=utcnow(),
            )
    except AlreadyJudged:
        return "already"
    return "ok"


async def test_two_simultaneous_supports_end_with_exactly_one(
    database_url: str, consultation: Consultation
) -> None:
    # Two handles on one database behave like two processes of the service.
    first, second = Database(database_url), Database(database_url)
    try:
        async with first.transaction() as session:
            author = await make_participant(session, consultation)
            voter = await make_participant(session, consultation)
            targets = [await make_proposal(session, consultation, author) for _ in range(10)]
        for proposal in targets:
            start = asyncio.Event()
            racers = [
                asyncio.create_task(_support(db, consultation, voter.id, proposal.id, start))
                for db in (first, second, first, second)
            ]
            await asyncio.sleep(0)
            start.set()
            outcomes = sorted(await asyncio.gather(*racers))
            assert outcomes == ["already", "already", "already", "ok"]
        async with first.reading() as session:
            for proposal in targets:
                count = await session.scalar(
                    select(func.count())
                    .select_from(Vote)
                    .where(Vote.proposal_id == proposal.id, Vote.participant_id == voter.id)
                )
                assert count == 1
                stored = await session.get(Proposal, proposal.id)
                assert stored is not None and stored.supports == 1
            person = await session.get(Participant, voter.id)
            assert person is not None and person.supports_given == len(targets)
    finally:
        await first.dispose()
        await second.dispose()


async def test_two_processes_registering_one_chat_at_once_end_with_one_participant(
    database_url: str, consultation: Consultation
) -> None:
    # Both have just looked the chat up and found nobody (``known_absent``).
    first, second = Database(database_url), Database(database_url)

    async def accept(database: Database, start: asyncio.Event, chat: str) -> int:
        await start.wait()
        async with database.transaction() as session:
            person = await participants.register(
                session,
                consultation=consultation,
                channel="telegram",
                external_id=chat,
                now=utcnow(),
                known_absent=True,
            )
            return person.id

    try:
        for database in (first, second):  # each handle opens its connection first
            async with database.transaction() as session:
                await session.execute(select(1))
        for chat in ("5001", "5002", "5003"):
            start = asyncio.Event()
            racers = [asyncio.create_task(accept(db, start, chat)) for db in (first, second, first)]
            await asyncio.sleep(0)
            start.set()
            ids = await asyncio.gather(*racers)
            assert len(set(ids)) == 1
        async with first.reading() as session:
            assert await session.scalar(select(func.count()).select_from(Participant)) == 3
            total = await session.scalar(
                select(func.sum(StatCounter.value)).where(
                    StatCounter.metric == "participants", StatCounter.dimension == "total"
                )
            )
        assert total == 3  # counted once each
    finally:
        await first.dispose()
        await second.dispose()
