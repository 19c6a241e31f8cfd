"""Staff drafts are versioned (the flows on them: tests/domain/conversation/test_staff_flows.py);
panel sessions are held on the server and end with a logout, a removal or a role change
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.models import AuditEntry, StaffSession
from pmd_domain.errors import InvalidEmail, NotFound
from pmd_domain.services import staff, staff_drafts, staff_sessions
from pmd_domain.services.staff_drafts import DraftConflict

ADMIN, MEMBER = 7101, 7102


async def test_a_step_on_a_draft_someone_else_moved_changes_nothing(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff_drafts.put(
            session, user_id=MEMBER, kind="bc.text", data={"step": "text"}, now=now
        )
    async with db.reading() as session:
        draft = await staff_drafts.get(session, user_id=MEMBER)
        assert draft is not None
        read_once, read_twice = staff_drafts.data_of(draft), staff_drafts.data_of(draft)
    async with db.transaction() as session:
        await staff_drafts.put(
            session,
            user_id=MEMBER,
            kind="bc.text",
            data={**read_once, "step": "button"},
            now=now,
        )
    with pytest.raises(DraftConflict):
        async with db.transaction() as session:
            await staff_drafts.put(
                session,
                user_id=MEMBER,
                kind="bc.text",
                data={**read_twice, "step": "audience"},
                now=now,
            )
    async with db.reading() as session:
        stored = await staff_drafts.get(session, user_id=MEMBER)
        assert stored is not None and (stored.data, stored.version) == ({"step": "button"}, 1)


async def test_sessions_end_with_logout_role_change_and_removal(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        await staff.add(session, user_id=MEMBER, role="analyst", now=now)
        one = await staff_sessions.open_session(session, user_id=MEMBER, role="analyst", now=now)
        two = await staff_sessions.open_session(session, user_id=MEMBER, role="analyst", now=now)
        stored = list(await session.scalars(select(StaffSession.id_hash)))
    assert one not in stored and two not in stored and len(stored) == 2

    async def opened(value: str) -> bool:
        async with db.reading() as session:
            return (
                await staff_sessions.find(session, value=value, now=utcnow(), admin_ids=[])
                is not None
            )

    assert await opened(one) and await opened(two)
    async with db.transaction() as session:
        assert await staff_sessions.close(session, value=one)
    assert not await opened(one) and await opened(two)
    async with db.transaction() as session:
        await staff.add(session, user_id=MEMBER, role="moderator", now=now)
    assert not await opened(two)
    async with db.transaction() as session:
        three = await staff_sessions.open_session(
            session, user_id=MEMBER, role="moderator", now=now
        )
        await staff.remove(session, user_id=MEMBER)
        await staff.add(session, user_id=MEMBER, role="moderator", now=now)
    assert not await opened(three)
    async with db.reading() as session:
        late = now + staff_sessions.SESSION_TTL + timedelta(seconds=1)
        assert await staff_sessions.find(session, value=three, now=late, admin_ids=[]) is None


async def test_web_only_members_get_negative_ids_and_audited_changes(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        first = await staff.add_web_by(
            session,
            actor_id=ADMIN,
            admin_ids=[ADMIN],
            email=" Ana@Pachuca.gob.mx ",
            role="analyst",
            now=now,
            name="Ana",
        )
        second = await staff.add_web(session, email="beto@pachuca.gob.mx", role="analyst", now=now)
        again = await staff.add_web(session, email="ana@pachuca.gob.mx", role="moderator", now=now)
        with pytest.raises(InvalidEmail):
            await staff.add_web(session, email="ana@", role="analyst", now=now)
        with pytest.raises(NotFound):
            await staff.add_by(
                session, actor_id=ADMIN, admin_ids=[ADMIN], user_id=-99, role="admin", now=now
            )
        actions = [(a.action, a.target) for a in await session.scalars(select(AuditEntry))]
    assert (first.user_id, second.user_id, again.user_id) == (-1, -2, -1)
    assert first.email == "ana@pachuca.gob.mx" and again.role == "moderator"
    assert actions == [("staff.role", "staff:-1")]
