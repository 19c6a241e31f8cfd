"""Sessions of the staff web panel, held on the server.

The browser's cookie carries a random id; the database keeps only its SHA-256 (a
copy of the database opens no session). A session lasts ``SESSION_TTL`` and only
while the member keeps the role they logged in with: logging out deletes its row,
and a removal or a change of role deletes every row of the member
(``staff.end_sessions``), so every open browser of theirs is out at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffSession
from pmd_domain.services import staff
from pmd_domain.services.staff_login import token_hash

SESSION_TTL = timedelta(hours=8)
ID_BYTES = 32
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class Opened:
    """Who a session belongs to, with the role they have now."""

    user_id: int
    role: str


async def open_session(
    session: AsyncSession, *, user_id: int, role: str, now: datetime, ttl: timedelta = SESSION_TTL
) -> str:
    """A new session for a member just logged in; the id to put in the cookie."""
    await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    value = secrets.token_urlsafe(ID_BYTES)
    session.add(
        StaffSession(
            id_hash=token_hash(value),
            user_id=user_id,
            role=role,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return value


async def find(
    session: AsyncSession, *, value: str, now: datetime, admin_ids: Iterable[int]
) -> Opened | None:
    """The open session with this cookie value, if it is unexpired and the role unchanged."""
    if not value or len(value) > MAX_ID_CHARS:
        return None
    record = await session.get(StaffSession, token_hash(value))
    if record is None or record.expires_at <= now:
        return None
    role = await staff.role_of(session, user_id=record.user_id, admin_ids=admin_ids)
    if role is None or role != record.role:
        return None
    return Opened(user_id=record.user_id, role=role)


async def close(session: AsyncSession, *, value: str) -> bool:
    """Log out: the session with this cookie value ends; True if there was one."""
    if not value or len(value) > MAX_ID_CHARS:
        return False
    result = await session.execute(
        delete(StaffSession).where(StaffSession.id_hash == token_hash(value))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
