"""Staff members and their roles."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffMember
from pmd_domain.errors import InvalidChoice, NotAllowed

ROLES = ("admin", "moderator", "analyst")
# What each role may do; admins may do everything.
PERMISSIONS = {
    "admin": {"moderate", "broadcast", "analyse", "stats", "manage_staff", "revoke"},
    "moderator": {"moderate", "stats", "revoke"},
    "analyst": {"analyse", "stats"},
}


async def role_of(session: AsyncSession, *, user_id: int, admin_ids: Iterable[int]) -> str | None:
    """The role of a user: bootstrap admins from settings, then the staff table."""
    if user_id in set(admin_ids):
        return "admin"
    member = await session.get(StaffMember, user_id)
    return member.role if member else None


def may(role: str | None, permission: str) -> bool:
    """Whether ``role`` grants ``permission``."""
    return role is not None and permission in PERMISSIONS.get(role, set())


async def require(
    session: AsyncSession, *, user_id: int, admin_ids: Iterable[int], permission: str
) -> str:
    """The user's role if it grants ``permission``; NotAllowed otherwise."""
    role = await role_of(session, user_id=user_id, admin_ids=admin_ids)
    if not may(role, permission):
        raise NotAllowed(permission=permission)
    assert role is not None
    return role


async def add(
    session: AsyncSession,
    *,
    user_id: int,
    role: str,
    now: datetime,
    added_by: int | None = None,
    name: str | None = None,
) -> StaffMember:
    """Add a staff member or change their role."""
    if role not in ROLES:
        raise InvalidChoice(role=role)
    member = await session.get(StaffMember, user_id)
    if member is None:
        member = StaffMember(
            user_id=user_id, role=role, name=name, added_by=added_by, created_at=now
        )
        session.add(member)
    else:
        member.role = role
        member.name = name or member.name
    await session.flush()
    return member


async def remove(session: AsyncSession, *, user_id: int) -> bool:
    """Remove a staff member; True if there was one."""
    result = await session.execute(delete(StaffMember).where(StaffMember.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def members(session: AsyncSession) -> list[StaffMember]:
    """Every staff member, by role then id."""
    return list(
        await session.scalars(select(StaffMember).order_by(StaffMember.role, StaffMember.user_id))
    )
