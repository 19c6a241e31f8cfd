"""One person, one voice (SPEC §9): levels, the ranking, per-address limits, reports."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from pmd_domain.clients import Client
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.schema import Window
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.errors import AddressLimit
from pmd_domain.services import disclosure, moderation, participants, ranking, stats, votes
from tests.factories import SEASONED, judge, make_participant, make_proposal

MODERATOR = 7001


def _with(consultation: Consultation, **integrity: object) -> Consultation:
    """The consultation with some ``[integrity]`` values changed."""
    section = consultation.integrity.model_copy(update=integrity)
    return consultation.model_copy(update={"integrity": section})


def _address_limits(consultation: Consultation, **windows: Window) -> Consultation:
    limits = consultation.integrity.address_limits.model_copy(update=windows)
    return _with(consultation, address_limits=limits)


async def test_only_counted_levels_move_the_ranking_the_others_are_shown_apart(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        phone = await make_participant(session, consultation, channel="telegram")
        browser = await make_participant(session, consultation, channel="web")
        assert (phone.assurance, browser.assurance) == ("phone", "anonymous")
        await judge(session, consultation, phone, record.id)
        await judge(session, consultation, browser, record.id, client=Client(address="a1"))
        snapshot = await stats.snapshot(session, consultation=consultation, now=utcnow())
        stored = await session.get(Proposal, record.id)
        levels = {
            v.participant_id: (v.channel, v.assurance, v.origin)
            for v in await session.scalars(select(Vote))
        }
    assert stored is not None
    assert ranking.by_level(stored) == {"phone": 1, "verified": 0, "anonymous": 1, "discounted": 0}
    assert stored.supports == 1
    assert levels == {phone.id: ("telegram", "phone", None), browser.id: ("web", "anonymous", "a1")}
    assert snapshot["totals"]["supports"] == 1
    assert snapshot["counted_levels"] == ["phone", "verified"]
    by_level = {row["key"]: row["count"] for row in snapshot["supports"]["assurance"]}
    assert by_level == {"phone": 1, "verified": 0, "anonymous": 1, "discounted": 0}
    [top] = snapshot["top"]["servicios"]
    assert (top["folio"], top["supports"]) == (record.folio, 1)
    # the breakdowns follow at their next publication (see disclosure), counted levels only
    await disclosure.publish_if_due(db, consultation=consultation, now=utcnow())
    async with db.reading() as session:
        published = await stats.snapshot(session, consultation=consultation, now=utcnow())
    assert [
        row["count"] for row in published["supports"]["pillar"] if row["key"] == "servicios"
    ] == [1]


async def test_counting_another_level_applies_to_past_supports_too(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        for _ in range(3):
            browser = await make_participant(session, consultation, channel="web")
            await judge(session, consultation, browser, record.id)
    everyone = _with(consultation, count_levels=["phone", "verified", "anonymous"])
    async with db.transaction() as session:
        assert await ranking.recount(session, consultation=everyone) == 1
        assert await ranking.recount(session, consultation=everyone) == 0  # nothing left to do
        snapshot = await stats.snapshot(session, consultation=everyone, now=utcnow())
        stored = await session.get(Proposal, record.id)
    assert stored is not None and stored.supports == 3
    assert snapshot["totals"]["supports"] == 3


async def test_new_participants_per_address_are_limited_kiosks_are_exempt_and_verified(
    db: Database, consultation: Consultation
) -> None:
    limited = _address_limits(consultation, participants=Window(count=2, minutes=10))
    async with db.transaction() as session:
        for n in range(2):
            await participants.register(
                session,
                consultation=limited,
                channel="web",
                external_id=f"w{n}",
                now=utcnow(),
                client=Client(address="same"),
            )
        other = await participants.register(
            session,
            consultation=limited,
            channel="web",
            external_id="elsewhere",
            now=utcnow(),
            client=Client(address="other"),
        )
        assert other.origin == "other"
    async with db.transaction() as session:
        with pytest.raises(AddressLimit):
            await participants.register(
                session,
                consultation=limited,
                channel="web",
                external_id="w2",
                now=utcnow(),
                client=Client(address="same"),
            )
    async with db.transaction() as session:
        kiosk = await participants.register(
            session,
            consultation=limited,
            channel="web",
            external_id="k1",
            now=utcnow(),
            client=Client(address="same", kiosk=True),
        )
        later = await participants.register(
            session,
            consultation=limited,
            channel="web",
            external_id="w3",
            now=utcnow() + timedelta(minutes=11),  # the window slid past the first two
            client=Client(address="same"),
        )
    assert (kiosk.assurance, kiosk.origin) == ("verified", None)
    assert later.assurance == "anonymous"
    async with db.reading() as session:
        stored = {p.external_id for p in await session.scalars(select(Participant))}
    assert stored == {"w0", "w1", "elsewhere", "k1", "w3"}


async def test_supports_and_reports_per_address_are_limited(
    db: Database, consultation: Consultation
) -> None:
    limited = _address_limits(
        consultation, supports=Window(count=2, minutes=10), reports=Window(count=1, minutes=10)
    )
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        records = [await make_proposal(session, consultation, author) for _ in range(4)]
        person = await make_participant(session, consultation, channel="web")
        for record in records[:2]:
            await judge(session, limited, person, record.id, client=Client(address="x"))
        await votes.judge(
            session,
            consultation=limited,
            participant=person,
            proposal_id=records[2].id,
            verdict="report",
            now=utcnow(),
            client=Client(address="x"),
        )
    async with db.transaction() as session:
        person = await participants.get(session, participant_id=person.id)
        with pytest.raises(AddressLimit):
            await judge(session, limited, person, records[3].id, client=Client(address="x"))
    async with db.transaction() as session:
        person = await participants.get(session, participant_id=person.id)
        with pytest.raises(AddressLimit):
            await votes.judge(
                session,
                consultation=limited,
                participant=person,
                proposal_id=records[3].id,
                verdict="report",
                now=utcnow(),
                client=Client(address="x"),
            )
    async with db.transaction() as session:
        person = await participants.get(session, participant_id=person.id)
        # skipping is never limited; the same address on Telegram has no client at all
        await votes.judge(
            session,
            consultation=limited,
            participant=person,
            proposal_id=records[3].id,
            verdict="skip",
            now=utcnow(),
            client=Client(address="x"),
        )


async def _register_from(
    url: str, consultation: Consultation, n: int, start: asyncio.Event
) -> bool:
    database = Database(url)
    try:
        await start.wait()
        async with database.transaction() as session:
            await participants.register(
                session,
                consultation=consultation,
                channel="web",
                external_id=f"race-{n}",
                now=utcnow(),
                client=Client(address="shared"),
            )
        return True
    except AddressLimit:
        return False
    finally:
        await database.dispose()


async def test_the_limit_holds_across_database_handles(
    database_url: str, consultation: Consultation
) -> None:
    limited = _address_limits(consultation, participants=Window(count=5, minutes=10))
    start = asyncio.Event()
    racers = [
        asyncio.create_task(_register_from(database_url, limited, n, start)) for n in range(12)
    ]
    await asyncio.sleep(0.2)
    start.set()
    admitted = await asyncio.gather(*racers)
    assert sum(admitted) == 5
    database = Database(database_url)
    try:
        async with database.reading() as session:
            count = len(list(await session.scalars(select(Participant))))
    finally:
        await database.dispose()
    assert count == 5


async def test_reports_count_only_from_counted_levels_and_seasoned_participants(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        fresh = [await make_participant(session, consultation) for _ in range(4)]
        browsers = [
            await make_participant(session, consultation, channel="web", now=utcnow() - SEASONED)
            for _ in range(4)
        ]
        for person in fresh + browsers:
            await judge(session, consultation, person, record.id, "report")
        stored = await session.get(Proposal, record.id)
        recorded = len(list(await session.scalars(select(Vote).where(Vote.verdict == "report"))))
    assert stored is not None
    assert (stored.status, stored.reports, recorded) == ("published", 0, 8)


async def test_the_report_threshold_is_relative_to_views(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        for _ in range(100):
            await votes.record_view(session, proposal_id=record.id)
        reporters = [
            await make_participant(session, consultation, now=utcnow() - SEASONED) for _ in range(5)
        ]
        for person in reporters[:4]:  # 4 of 100 views: under 5 %
            await judge(session, consultation, person, record.id, "report")
        stored = await session.get(Proposal, record.id)
        assert stored is not None and (stored.status, stored.reports) == ("published", 4)
        await judge(session, consultation, reporters[4], record.id, "report")
        await session.refresh(stored)
    assert stored.status == "pending"


async def test_a_confirmed_proposal_needs_more_reports_and_stays_visible_while_reviewed(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        seasoned = [
            await make_participant(session, consultation, now=now - SEASONED) for _ in range(14)
        ]
        for person in seasoned[:3]:
            await judge(session, consultation, person, record.id, "report")
        await session.refresh(record)
        assert record.status == "pending"
        await moderation.decide(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=MODERATOR,
            admin_ids=[MODERATOR],
            now=now,
        )
        await session.refresh(record)
        # the history is kept: three reports, confirmed by a moderator
        assert (record.status, record.reports, record.confirmed_reports) == ("published", 3, 3)
        for person in seasoned[3:12]:  # nine more: under the confirmed threshold of 10
            await judge(session, consultation, person, record.id, "report")
        await session.refresh(record)
        assert (record.status, record.review_since) == ("published", None)
        await judge(session, consultation, seasoned[12], record.id, "report")
        await session.refresh(record)
        assert record.status == "published" and record.review_since is not None
        waiting = await moderation.next_waiting(session)
        assert waiting.proposal is not None and waiting.proposal.id == record.id
        snapshot = await stats.snapshot(session, consultation=consultation, now=now)
        [top] = snapshot["top"]["servicios"]
        assert top["under_review"] is True
        assert snapshot["totals"]["published"] == 1  # it never left
        await moderation.decide(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=MODERATOR,
            admin_ids=[MODERATOR],
            now=now,
        )
        await session.refresh(record)
        assert (record.review_since, record.reports, record.confirmed_reports) == (None, 13, 13)
        assert (await moderation.next_waiting(session)).proposal is None
