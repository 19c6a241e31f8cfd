"""The state of a staff member's chat flow, one per member, versioned like the citizen's state.

A staff flow (``pmd_domain.conversation.staff``: a moderation walk, a campaign being
written) keeps the screen on display and its data here, keyed by the Telegram user
(staff need not be participants), written in the same transaction as the step: any
bot process can take the member's next message. ``kind`` holds the screen's name.
Each write after the first names the version it read (``expected``): a step that
lost a race with another process's step on the same flow changes nothing
(``DraftConflict``), as a citizen's step does with ``StateConflict``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffDraft
from pmd_domain.errors import DomainError

VERSION_KEY = "_v"  # where a step carries the version it read, inside the draft's data


class DraftConflict(DomainError):
    """Another step changed the draft since this one read it."""

    code = "error.staff_draft_conflict"


async def get(session: AsyncSession, *, user_id: int) -> StaffDraft | None:
    """The staff member's draft, if any."""
    return await session.get(StaffDraft, user_id, populate_existing=True)


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


async def clear(
    session: AsyncSession, *, user_id: int, kind: str | None = None, expected: int | None = None
) -> bool:
    """Drop the staff member's draft (only one of ``kind``, if given); True if there was one.

    With ``expected``, only the draft at that version: DraftConflict if it moved on.
    """
    statement = delete(StaffDraft).where(StaffDraft.user_id == user_id)
    if kind is not None:
        statement = statement.where(StaffDraft.kind == kind)
    if expected is not None:
        statement = statement.where(StaffDraft.version == expected)
    result = await session.execute(statement)
    if expected is not None and result.rowcount != 1:  # type: ignore[attr-defined]
        raise DraftConflict()
    return bool(result.rowcount)  # type: ignore[attr-defined]
