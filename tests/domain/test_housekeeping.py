"""Housekeeping removes what can no longer matter and keeps the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.models import (
    Activity,
    OutboxStep,
    ProcessedUpdate,
    StaffDraft,
    StaffLogin,
    StaffMember,
    VerificationCode,
)
from pmd_domain.services import activity, housekeeping


def _code(name: str, *, expires: datetime, used: datetime | None = None) -> VerificationCode:
    return VerificationCode(
        code_hash=name,
        method="in_person",
        created_at=expires - timedelta(days=60),
        expires_at=expires,
        used_at=used,
    )


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
                Activity(
                    kind="p@addr", key="k", slot=activity.slot_of(now - timedelta(days=3)), count=4
                ),
                Activity(kind="p@addr", key="k", slot=activity.slot_of(now), count=1),
                _code("old", expires=now - timedelta(days=31)),
                _code("used", expires=now - timedelta(days=31), used=now - timedelta(days=40)),
                _code("live", expires=now + timedelta(days=1)),
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
        "verification_codes": 1,
        "activity": 1,
        "outbox": 1,
    }
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
        assert await session.scalar(select(StaffLogin.token_hash)) == "b" * 64
        assert await session.scalar(select(StaffDraft.user_id)) == 8
    async with db.reading() as session:
        kept = set(await session.scalars(select(VerificationCode.code_hash)))
        assert kept == {"used", "live"}
        assert await session.scalar(select(func.count()).select_from(Activity)) == 1
        assert await session.scalar(select(func.count()).select_from(OutboxStep)) == 1


def _reply(created_at: datetime, status: str) -> OutboxStep:
    return OutboxStep(
        channel="telegram",
        external_id="42",
        replies=[{"text": "hola"}],
        status=status,
        created_at=created_at,
    )
