"""Housekeeping removes what can no longer matter and keeps the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.models import (
    OutboxStep,
    ProcessedUpdate,
    StaffDraft,
    StaffLogin,
    StaffMember,
)
from pmd_domain.services import housekeeping


async def test_prune_removes_only_old_rows(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        session.add(StaffMember(user_id=7, role="admin", created_at=now))
        await session.flush()
        session.add_all(
            [
                ProcessedUpdate(
                    channel="telegram", update_id="1", processed_at=now - timedelta(days=3)
                ),
                ProcessedUpdate(
                    channel="telegram", update_id="2", processed_at=now - timedelta(hours=20)
                ),
                StaffLogin(token_hash="a" * 64, user_id=7, expires_at=now - timedelta(days=2)),
                StaffLogin(token_hash="b" * 64, user_id=7, expires_at=now + timedelta(minutes=10)),
                StaffDraft(user_id=7, kind="reject", data={}, updated_at=now - timedelta(days=8)),
                StaffDraft(user_id=8, kind="broadcast", data={}, updated_at=now),
                _reply(now - timedelta(days=3), "sent"),
                _reply(now - timedelta(hours=1), "sent"),
            ]
        )
    async with db.transaction() as session:
        removed = await housekeeping.prune(session, now=now)
    assert removed == {
        "processed_updates": 1,
        "staff_logins": 1,
        "staff_drafts": 1,
        "outbox": 1,
    }
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
        assert await session.scalar(select(StaffLogin.token_hash)) == "b" * 64
        assert await session.scalar(select(StaffDraft.user_id)) == 8
        assert await session.scalar(select(func.count()).select_from(OutboxStep)) == 1


def _reply(created_at: datetime, status: str) -> OutboxStep:
    return OutboxStep(
        channel="telegram",
        external_id="42",
        replies=[{"text": "hola"}],
        status=status,
        created_at=created_at,
    )
