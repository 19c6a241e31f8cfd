"""One-time login links into the staff web area.

The link carries a random token; the database keeps only its SHA-256, so a copy
of the database cannot be used to log in. A link works once, for a short time.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffLogin, StaffMember
from pmd_domain.errors import LoginLinkInvalid, NotAllowed
from pmd_domain.services import staff

LINK_TTL = timedelta(minutes=15)
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The stored form of a login token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_login_link(
    session: AsyncSession,
    *,
    user_id: int,
    admin_ids: Iterable[int],
    now: datetime,
    ttl: timedelta = LINK_TTL,
    permission: str | None = None,
) -> str:
    """A fresh login token for a staff member (NotAllowed for anybody else).

    ``permission``: the member's role must also grant it, checked in this transaction
    (the bot's ``/panel`` asks for ``analyse``).
    """
    admins = set(admin_ids)
    if permission is not None:
        await staff.require(session, user_id=user_id, admin_ids=admins, permission=permission)
    elif await staff.role_of(session, user_id=user_id, admin_ids=admins) is None:
        raise NotAllowed(permission="panel")
    if await session.get(StaffMember, user_id) is None:
        # A bootstrap admin from PMD_ADMIN_IDS: the login row needs a staff row.
        await staff.add(session, user_id=user_id, role="admin", now=now)
    # Expired links are useless; drop them while we are here.
    await session.execute(delete(StaffLogin).where(StaffLogin.expires_at <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(StaffLogin(token_hash=token_hash(token), user_id=user_id, expires_at=now + ttl))
    await session.flush()
    return token


async def redeem(
    session: AsyncSession, *, token: str, now: datetime, admin_ids: Iterable[int] = ()
) -> tuple[int, str]:
    """Use a login token once: ``(user_id, role)``; LoginLinkInvalid if used, expired or unknown."""
    if not token or len(token) > 128:
        raise LoginLinkInvalid()
    hashed = token_hash(token)
    # Conditional update: two clicks at once cannot both succeed.
    used = await session.execute(
        update(StaffLogin)
        .where(
            StaffLogin.token_hash == hashed,
            StaffLogin.used_at.is_(None),
            StaffLogin.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LoginLinkInvalid()
    user_id = await session.scalar(
        select(StaffLogin.user_id).where(StaffLogin.token_hash == hashed)
    )
    assert user_id is not None
    role = await staff.role_of(session, user_id=user_id, admin_ids=admin_ids)
    if role is None:
        raise LoginLinkInvalid()
    return int(user_id), role
