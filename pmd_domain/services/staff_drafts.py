"""Unfinished multi-step staff commands, one per staff member.

A broadcast being written or a rejection waiting for its reason lives in the
database, written in the same transaction as the step, like the citizen's
conversation state: any bot process can take the staff member's next message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffDraft


async def get(session: AsyncSession, *, user_id: int) -> StaffDraft | None:
    """The staff member's draft, if any."""
    return await session.get(StaffDraft, user_id)


async def put(
    session: AsyncSession, *, user_id: int, kind: str, data: dict[str, Any], now: datetime
) -> StaffDraft:
    """Start or replace the staff member's draft (one at a time)."""
    draft = await session.get(StaffDraft, user_id)
    if draft is None:
        draft = StaffDraft(user_id=user_id, kind=kind, data=dict(data), updated_at=now)
        session.add(draft)
    else:
        draft.kind, draft.data, draft.updated_at = kind, dict(data), now
    await session.flush()
    return draft


async def clear(session: AsyncSession, *, user_id: int, kind: str | None = None) -> bool:
    """Drop the staff member's draft (only one of ``kind``, if given); True if there was one."""
    statement = delete(StaffDraft).where(StaffDraft.user_id == user_id)
    if kind is not None:
        statement = statement.where(StaffDraft.kind == kind)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
