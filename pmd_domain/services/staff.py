"""Staff members and their roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import StaffMember
from pmd_domain.errors import ConfiguredAdmin, InvalidChoice, NotAllowed, SelfRemoval
from pmd_domain.services import staff_drafts

ROLES = ("admin", "moderator", "analyst")
# What each role may do; admins may do everything.
PERMISSIONS = {
    "admin": {"moderate", "broadcast", "analyse", "stats", "manage_staff", "revoke", "integrity"},
    # integrity: verification codes, kiosks, discounting supports (docs/integrity.md)
    "moderator": {"moderate", "stats", "revoke", "integrity"},
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


async def remove(session: AsyncSession, *, user_id: int, admin_ids: Iterable[int] = ()) -> bool:
    """Remove a staff member and their unfinished drafts; True if they were staff.

    A bootstrap admin (``admin_ids``, from settings) cannot be removed: ConfiguredAdmin.
    """
    if user_id in set(admin_ids):
        raise ConfiguredAdmin(user_id=user_id)
    await staff_drafts.clear(session, user_id=user_id)
    result = await session.execute(delete(StaffMember).where(StaffMember.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def members(session: AsyncSession) -> list[StaffMember]:
    """Every staff member, by role then id."""
    return list(
        await session.scalars(select(StaffMember).order_by(StaffMember.role, StaffMember.user_id))
    )


@dataclass(frozen=True)
class Member:
    """One line of the staff list."""

    user_id: int
    role: str
    name: str | None
    configured: bool  # a bootstrap admin from PMD_ADMIN_IDS


async def roster(session: AsyncSession, *, admin_ids: Iterable[int]) -> list[Member]:
    """The bootstrap admins from settings, then every staff member by role and id."""
    admins = list(dict.fromkeys(admin_ids))
    stored = await members(session)
    names = {m.user_id: m.name for m in stored}
    listed = [Member(uid, "admin", names.get(uid), True) for uid in admins]
    listed += [Member(m.user_id, m.role, m.name, False) for m in stored if m.user_id not in admins]
    return listed


async def add_by(
    session: AsyncSession,
    *,
    actor_id: int,
    admin_ids: Iterable[int],
    user_id: int,
    role: str,
    now: datetime,
    name: str | None = None,
) -> StaffMember:
    """An admin adds a staff member or changes their role (bootstrap admins stay admins)."""
    admins = set(admin_ids)
    await require(session, user_id=actor_id, admin_ids=admins, permission="manage_staff")
    if user_id in admins:
        raise ConfiguredAdmin(user_id=user_id)
    return await add(session, user_id=user_id, role=role, now=now, added_by=actor_id, name=name)


async def remove_by(
    session: AsyncSession, *, actor_id: int, admin_ids: Iterable[int], user_id: int
) -> bool:
    """An admin removes a staff member (not a bootstrap admin, not themselves)."""
    admins = set(admin_ids)
    await require(session, user_id=actor_id, admin_ids=admins, permission="manage_staff")
    if user_id == actor_id and user_id not in admins:  # a bootstrap admin: refused below
        raise SelfRemoval()
    return await remove(session, user_id=user_id, admin_ids=admins)
