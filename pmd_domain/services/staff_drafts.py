"""Unfinished multi-step staff commands, one per staff member, versioned like the citizen's state.

A broadcast being written or a rejection waiting for its reason lives in the
database, written in the same transaction as the step, like the citizen's
conversation state: any bot process can take the staff member's next message. Each
write after the first names the version it read (``expected``): a step that lost a
race with another process's step on the same draft changes nothing
(``DraftConflict``), as a citizen's step does with ``StateConflict``.

How long a draft keeps taking the staff member's texts is a rule of the domain
(``TTL``): a rejection waiting for its typed reason is ignored after 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import as_aware
from pmd_domain.db.models import StaffDraft
from pmd_domain.errors import DomainError


class Kind(StrEnum):
    """What a draft is for."""

    REJECT = "reject"  # a rejection waiting for its typed reason
    BROADCAST = "broadcast"  # a campaign being written


# After this long without a step, a draft no longer takes the staff member's texts.
TTL: dict[str, timedelta] = {Kind.REJECT: timedelta(minutes=30)}
VERSION_KEY = "_v"  # where a step carries the version it read, inside the draft's data


class DraftConflict(DomainError):
    """Another step changed the draft since this one read it."""

    code = "error.staff_draft_conflict"


async def get(session: AsyncSession, *, user_id: int) -> StaffDraft | None:
    """The staff member's draft, if any."""
    return await session.get(StaffDraft, user_id, populate_existing=True)


async def current(
    session: AsyncSession, *, user_id: int, now: datetime, kind: str | None = None
) -> StaffDraft | None:
    """The staff member's draft if it is still in force (of ``kind``, if given)."""
    draft = await get(session, user_id=user_id)
    if draft is None or (kind is not None and draft.kind != kind):
        return None
    ttl = TTL.get(draft.kind)
    if ttl is not None and as_aware(draft.updated_at) < now - ttl:
        return None
    return draft


def data_of(draft: StaffDraft) -> dict[str, Any]:
    """The draft's data with the version it was read at (pass it back to ``put``)."""
    return {**(draft.data or {}), VERSION_KEY: draft.version}


async def put(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    expected: int | None = None,
) -> None:
    """Start or replace the staff member's draft (one at a time).

    With ``expected`` (or the version carried in ``data`` by ``data_of``) the write
    happens only if the draft is still at that version; DraftConflict otherwise.
    Without it the draft is started afresh, whatever was there.
    """
    values = {k: v for k, v in data.items() if k != VERSION_KEY}
    if expected is None and isinstance(data.get(VERSION_KEY), int):
        expected = int(data[VERSION_KEY])
    if expected is not None:
        result = await session.execute(
            update(StaffDraft)
            .where(StaffDraft.user_id == user_id, StaffDraft.version == expected)
            .values(kind=kind, data=values, updated_at=now, version=expected + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise DraftConflict()
        return
    draft = await get(session, user_id=user_id)
    if draft is None:
        session.add(StaffDraft(user_id=user_id, kind=kind, data=values, updated_at=now, version=0))
    else:
        draft.kind, draft.data, draft.updated_at = kind, values, now
        draft.version = draft.version + 1
    await session.flush()


async def clear(session: AsyncSession, *, user_id: int, kind: str | None = None) -> bool:
    """Drop the staff member's draft (only one of ``kind``, if given); True if there was one."""
    statement = delete(StaffDraft).where(StaffDraft.user_id == user_id)
    if kind is not None:
        statement = statement.where(StaffDraft.kind == kind)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
