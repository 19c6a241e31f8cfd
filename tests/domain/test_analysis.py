"""Staff analysis on SQLite and PostgreSQL: login links, alignment, duplicates, outcomes."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification, Proposal, ProposalAction, StaffLogin, StaffMember
from pmd_domain.errors import InvalidChoice, LoginLinkInvalid, NotADuplicate, NotAllowed
from pmd_domain.i18n import Catalogs
from pmd_domain.services import analysis, erasure, notifications, staff, staff_login
from tests.factories import make_participant, make_proposal

ADMIN = 9001
ANALYST = 9002


async def test_login_link_works_once_and_only_its_hash_is_stored(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=now)
        token = await staff_login.create_login_link(session, user_id=ANALYST, admin_ids=[], now=now)
    assert len(token) >= 43  # 32 random bytes
    async with db.reading() as session:
        stored = list(await session.scalars(select(StaffLogin)))
    assert [row.token_hash for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in {stored[0].token_hash, str(stored[0].user_id)}

    async with db.transaction() as session:
        assert await staff_login.redeem(session, token=token, now=now) == (ANALYST, "analyst")
    async with db.transaction() as session:
        with pytest.raises(LoginLinkInvalid):
            await staff_login.redeem(session, token=token, now=now)
    async with db.transaction() as session:
        with pytest.raises(LoginLinkInvalid):
            await staff_login.redeem(session, token=token + "x", now=now)
        with pytest.raises(LoginLinkInvalid):
            await staff_login.redeem(session, token="", now=now)


async def test_login_link_expires(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=now)
        token = await staff_login.create_login_link(
            session, user_id=ANALYST, admin_ids=[], now=now, ttl=timedelta(minutes=15)
        )
    async with db.transaction() as session:
        with pytest.raises(LoginLinkInvalid):
            await staff_login.redeem(session, token=token, now=now + timedelta(minutes=16))
    async with db.transaction() as session:  # the failed attempt did not use it up
        assert await staff_login.redeem(session, token=token, now=now + timedelta(minutes=14))


async def test_only_staff_get_links_and_bootstrap_admins_get_a_staff_row(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        with pytest.raises(NotAllowed):
            await staff_login.create_login_link(session, user_id=4242, admin_ids=[ADMIN], now=now)
        token = await staff_login.create_login_link(
            session, user_id=ADMIN, admin_ids=[ADMIN], now=now
        )
        member = await session.get(StaffMember, ADMIN)
        assert member is not None and member.role == "admin"
    async with db.transaction() as session:
        assert await staff_login.redeem(session, token=token, now=now, admin_ids=[ADMIN]) == (
            ADMIN,
            "admin",
        )


async def test_removed_staff_links_stop_working(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=now)
        token = await staff_login.create_login_link(session, user_id=ANALYST, admin_ids=[], now=now)
        await staff.remove(session, user_id=ANALYST)
    async with db.transaction() as session:
        with pytest.raises(LoginLinkInvalid):
            await staff_login.redeem(session, token=token, now=now)


async def test_alignment_takes_only_actions_of_the_proposals_pillar(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author, pillar="servicios")
    pillar = consultation.pillar("servicios")
    other = consultation.pillar("bienestar")
    assert pillar is not None and other is not None
    own = [pillar.actions[1].key, pillar.actions[0].key]
    async with db.transaction() as session:
        chosen = await analysis.align(
            session, consultation=consultation, proposal_id=record.id, actions=own
        )
    assert chosen == sorted(own)
    async with db.transaction() as session:
        with pytest.raises(InvalidChoice):
            await analysis.align(
                session,
                consultation=consultation,
                proposal_id=record.id,
                actions=[pillar.actions[0].key, other.actions[0].key],
            )
    async with db.reading() as session:  # the refused change left the alignment alone
        assert await analysis.actions_of(session, proposal_id=record.id) == sorted(own)
    async with db.transaction() as session:
        await analysis.align(
            session, consultation=consultation, proposal_id=record.id, actions=[own[0]]
        )
        assert await analysis.actions_of(session, proposal_id=record.id) == [own[0]]
        await analysis.align(session, consultation=consultation, proposal_id=record.id, actions=[])
    async with db.reading() as session:
        count = await session.scalar(select(func.count()).select_from(ProposalAction))
    assert count == 0


async def test_duplicate_groups_stay_flat(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        a, b, c, d = [await make_proposal(session, consultation, author) for _ in range(4)]
    async with db.transaction() as session:
        with pytest.raises(NotADuplicate):
            await analysis.mark_duplicate(session, proposal_id=a.id, original_id=a.id)
        found = await analysis.mark_duplicate(session, proposal_id=b.id, original_id=a.id)
        assert found.original.id == a.id and [p.id for p in found.duplicates] == [b.id]
        # Pointing at a duplicate points at its original.
        found = await analysis.mark_duplicate(session, proposal_id=c.id, original_id=b.id)
        assert found.original.id == a.id
        assert [p.id for p in found.duplicates] == [b.id, c.id]
        # The original cannot become a duplicate of its own duplicate.
        with pytest.raises(NotADuplicate):
            await analysis.mark_duplicate(session, proposal_id=a.id, original_id=c.id)
        # An original joining another group brings its duplicates along.
        found = await analysis.mark_duplicate(session, proposal_id=a.id, original_id=d.id)
        assert found.original.id == d.id
        assert [p.id for p in found.duplicates] == [a.id, b.id, c.id]
    async with db.transaction() as session:
        await analysis.clear_duplicate(session, proposal_id=b.id)
        assert (await analysis.group(session, proposal_id=b.id)).duplicates == []
        seen = await analysis.group(session, proposal_id=c.id)
        assert (seen.original.id, [p.id for p in seen.duplicates]) == (d.id, [a.id, c.id])
    async with db.reading() as session:
        chains = await session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where(
                Proposal.duplicate_of.in_(
                    select(Proposal.id).where(Proposal.duplicate_of.is_not(None))
                )
            )
        )
    assert chains == 0


async def test_erasing_an_original_keeps_its_duplicates(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        other = await make_participant(session, consultation)
        original = await make_proposal(session, consultation, author, publish=False)
        copy = await make_proposal(session, consultation, other)
        await analysis.mark_duplicate(session, proposal_id=copy.id, original_id=original.id)
    async with db.transaction() as session:
        await erasure.erase(
            session, consultation=consultation, participant_id=author.id, now=utcnow()
        )
    async with db.reading() as session:
        kept = await session.get(Proposal, copy.id)
        assert kept is not None and kept.duplicate_of is None
        assert await session.get(Proposal, original.id) is None


async def test_outcome_is_recorded_and_the_author_is_told(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
    async with db.transaction() as session:
        await analysis.record_outcome(
            session,
            proposal_id=record.id,
            outcome="incluida",
            note="  Eje 2, acción 2.1.1 ",
            now=now,
        )
        # Saving the same outcome again does not message the citizen twice.
        await analysis.record_outcome(
            session, proposal_id=record.id, outcome="incluida", note="Eje 2, acción 2.1.1", now=now
        )
    async with db.reading() as session:
        stored = await session.get(Proposal, record.id)
        assert stored is not None
        assert (stored.outcome, stored.outcome_note) == ("incluida", "Eje 2, acción 2.1.1")
        queued = list(await session.scalars(select(Notification)))
        waiting = await notifications.pending(session, now=utcnow())
    assert len(queued) == 1
    assert queued[0].participant_id == author.id and queued[0].sent_at is None
    assert queued[0].params == {
        "folio": record.folio,
        "outcome": "incluida",
        "note": "Eje 2, acción 2.1.1",
    }
    assert [w.id for w in waiting] == [queued[0].id]
    text = notifications.render(
        Catalogs.load(), language="es", text_key=waiting[0].text_key, params=waiting[0].params
    )
    assert record.folio is not None and record.folio in text
    assert "incluida en el Plan Municipal de Desarrollo" in text
    assert "Eje 2, acción 2.1.1" in text

    async with db.transaction() as session:
        with pytest.raises(InvalidChoice):
            await analysis.record_outcome(
                session, proposal_id=record.id, outcome="tal vez", now=now
            )
        await analysis.record_outcome(session, proposal_id=record.id, outcome="no_procede", now=now)
        assert await notifications.claim(session, notification_id=queued[0].id, now=now)
        assert not await notifications.claim(session, notification_id=queued[0].id, now=now)
    async with db.reading() as session:
        assert [
            w.params["outcome"] for w in await notifications.pending(session, now=utcnow())
        ] == ["no_procede"]


async def test_browser_chat_authors_see_outcomes_in_mi_participacion_only(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation, channel="web")
        record = await make_proposal(session, consultation, author)
        await analysis.record_outcome(
            session, proposal_id=record.id, outcome="considerada", now=utcnow()
        )
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_search_filters_and_counts(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        water = await make_proposal(session, consultation, author, problem="Fugas de agua 100%")
        lights = await make_proposal(
            session,
            consultation,
            author,
            pillar="servicios",
            topic="alumbrado",
            problem="Calles sin luz en la noche.",
        )
        pending = await make_proposal(session, consultation, author, publish=False)
        await analysis.record_outcome(
            session, proposal_id=lights.id, outcome="considerada", now=utcnow()
        )
    async with db.reading() as session:
        found, total = await analysis.search(session, filters=analysis.Filters(text="100%"))
        assert ([p.id for p in found], total) == ([water.id], 1)
        found, total = await analysis.search(
            session, filters=analysis.Filters(text="FUGAS DE AGUA")
        )
        assert total == 1
        found, _ = await analysis.search(
            session, filters=analysis.Filters(outcome=analysis.NO_OUTCOME, sort="oldest")
        )
        assert [p.id for p in found] == [water.id, pending.id]
        found, _ = await analysis.search(session, filters=analysis.Filters(topic="alumbrado"))
        assert [p.id for p in found] == [lights.id]
        found, total = await analysis.search(
            session, filters=analysis.Filters(sort="oldest"), page=2, per_page=2
        )
        assert ([p.id for p in found], total) == ([pending.id], 3)
        figures = await analysis.counts(session)
    assert figures["status"] == {"pending": 1, "published": 2, "rejected": 0}
    assert figures["outcome"] == {
        "incluida": 0,
        "considerada": 1,
        "no_procede": 0,
        analysis.NO_OUTCOME: 2,
    }


async def test_export_rows_carry_the_analysis(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        first = await make_proposal(session, consultation, author)
        second = await make_proposal(session, consultation, author)
        await analysis.align(
            session, consultation=consultation, proposal_id=first.id, actions=["2.1.1", "2.6.1"]
        )
        await analysis.mark_duplicate(session, proposal_id=second.id, original_id=first.id)
    async with db.reading() as session:
        page, last = await analysis.export_page(session, consultation=consultation, limit=1)
        assert last == first.id and page[0]["acciones"] == "2.1.1 2.6.1"
        page, last = await analysis.export_page(
            session, consultation=consultation, after_id=last, limit=1
        )
        assert page[0]["duplicado_de"] == first.folio
        page, last = await analysis.export_page(
            session, consultation=consultation, after_id=last, limit=1
        )
    assert (page, last) == ([], 0)
