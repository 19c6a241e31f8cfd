"""Staff members and their roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import utcnow
from pmd_domain.db.models import StaffMember, StaffSession
from pmd_domain.errors import (
    ConfiguredAdmin,
    InvalidChoice,
    InvalidEmail,
    NotAllowed,
    NotFound,
    SelfRemoval,
)
from pmd_domain.services import audit, staff_drafts
from pmd_domain.services.texts import clean_text

ROLES = ("admin", "moderator", "analyst")
# The names a role may be typed by (in a chat command), in Spanish or English.
ROLE_NAMES = {
    "admin": "admin",
    "administrador": "admin",
    "administradora": "admin",
    "moderator": "moderator",
    "moderador": "moderator",
    "moderadora": "moderator",
    "analyst": "analyst",
    "analista": "analyst",
}


def role_named(name: str) -> str | None:
    """The role a typed name stands for (``moderadora`` -> ``moderator``), None if none."""
    return ROLE_NAMES.get(name.strip().lower())


# What each role may do; admins may do everything.
PERMISSIONS = {
    "admin": {"moderate", "broadcast", "analyse", "stats", "manage_staff", "revoke", "integrity"},
    # integrity: verification codes, kiosks, discounting supports (docs/integrity.md)
    "moderator": {"moderate", "stats", "revoke", "integrity"},
    "analyst": {"analyse", "stats"},
}
EMAIL_MAX_CHARS = 254
NAME_MAX_CHARS = 120


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
    name = staff_name(name)
    member = await session.get(StaffMember, user_id)
    if member is None:
        member = StaffMember(
            user_id=user_id, role=role, name=name, added_by=added_by, created_at=now
        )
        session.add(member)
    else:
        if member.role != role:
            await end_sessions(session, user_id=user_id)  # a new role: log in again
        member.role = role
        member.name = name or member.name
    await session.flush()
    return member


def staff_name(raw: str | None) -> str | None:
    """A member's name as stored: one line of text, no control characters, at most
    ``NAME_MAX_CHARS`` (``None`` when nothing is left)."""
    return " ".join(clean_text(raw or "").split())[:NAME_MAX_CHARS] or None


def clean_email(raw: str) -> str:
    """An e-mail address as stored (trimmed, lower case); InvalidEmail if it is not one."""
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(email) > EMAIL_MAX_CHARS
        or any(c.isspace() or c in "<>\"'" for c in email)
    ):
        raise InvalidEmail()
    return email


async def by_email(session: AsyncSession, *, email: str) -> StaffMember | None:
    """The member with this e-mail address, if any."""
    return await session.scalar(select(StaffMember).where(StaffMember.email == clean_email(email)))


async def add_web(
    session: AsyncSession,
    *,
    email: str,
    role: str,
    now: datetime,
    name: str | None = None,
    added_by: int | None = None,
) -> StaffMember:
    """Add a member who works from the web panel only (by e-mail), or change their role.

    They get the next free negative id: Telegram user ids are always positive, so the
    two kinds of member never collide and every table keyed by ``user_id`` serves both.
    """
    if role not in ROLES:
        raise InvalidChoice(role=role)
    address = clean_email(email)
    found = await by_email(session, email=address)
    if found is not None:
        return await add(session, user_id=found.user_id, role=role, now=now, name=name)
    lowest = await session.scalar(select(func.min(StaffMember.user_id)))
    member = StaffMember(
        user_id=min(int(lowest or 0), 0) - 1,
        role=role,
        name=staff_name(name),
        email=address,
        added_by=added_by,
        created_at=now,
    )
    session.add(member)
    await session.flush()
    return member


async def end_sessions(session: AsyncSession, *, user_id: int) -> None:
    """Close every open web panel session of the member."""
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


async def remove(session: AsyncSession, *, user_id: int, admin_ids: Iterable[int] = ()) -> bool:
    """Remove a staff member and their unfinished drafts; True if they were staff.

    A bootstrap admin (``admin_ids``, from settings) cannot be removed: ConfiguredAdmin.
    """
    if user_id in set(admin_ids):
        raise ConfiguredAdmin(user_id=user_id)
    await staff_drafts.clear(session, user_id=user_id)
    await end_sessions(session, user_id=user_id)
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
    email: str | None = None  # a member of the web panel only

    @property
    def web_only(self) -> bool:
        """Added by e-mail, without Telegram."""
        return self.user_id < 0


async def roster(session: AsyncSession, *, admin_ids: Iterable[int]) -> list[Member]:
    """The bootstrap admins from settings, then every staff member by role and id."""
    admins = list(dict.fromkeys(admin_ids))
    stored = await members(session)
    names = {m.user_id: m.name for m in stored}
    listed = [Member(uid, "admin", names.get(uid), True) for uid in admins]
    listed += [
        Member(m.user_id, m.role, m.name, False, m.email) for m in stored if m.user_id not in admins
    ]
    return listed


async def add_by(
    session: AsyncSession,
    *,
    actor_id: int | None,
    admin_ids: Iterable[int],
    user_id: int,
    role: str,
    now: datetime,
    name: str | None = None,
) -> StaffMember:
    """An admin (or the command line: ``actor_id`` None) adds a staff member or changes
    their role (bootstrap admins stay admins)."""
    admins = set(admin_ids)
    await _may_manage(session, actor_id, admins)
    if user_id in admins:
        raise ConfiguredAdmin(user_id=user_id)
    if user_id < 0 and await session.get(StaffMember, user_id) is None:
        raise NotFound("staff member", user_id=user_id)  # web-only ids are given, not chosen
    member = await add(session, user_id=user_id, role=role, now=now, added_by=actor_id, name=name)
    await _audit(session, actor_id, "staff.role", user_id, now, role=role)
    return member


async def add_web_by(
    session: AsyncSession,
    *,
    actor_id: int | None,
    admin_ids: Iterable[int],
    email: str,
    role: str,
    now: datetime,
    name: str | None = None,
) -> StaffMember:
    """An admin (or the command line) adds a member of the web panel only, by e-mail."""
    await _may_manage(session, actor_id, admin_ids)
    member = await add_web(session, email=email, role=role, now=now, name=name, added_by=actor_id)
    await _audit(session, actor_id, "staff.role", member.user_id, now, role=role, web=True)
    return member


async def _may_manage(session: AsyncSession, actor_id: int | None, admins: Iterable[int]) -> None:
    """NotAllowed unless the actor may manage the team; the command line (``None``) may:
    its operator holds the server's keys."""
    if actor_id is not None:
        await require(session, user_id=actor_id, admin_ids=admins, permission="manage_staff")


async def _audit(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    user_id: int,
    now: datetime,
    **details: Any,
) -> None:
    await audit.record(
        session,
        actor=audit.CLI if actor_id is None else audit.staff_actor(actor_id),
        action=action,
        target=f"staff:{user_id}",
        now=now,
        details=details,
    )


async def remove_by(
    session: AsyncSession,
    *,
    actor_id: int | None,
    admin_ids: Iterable[int],
    user_id: int,
    now: datetime | None = None,
) -> bool:
    """An admin (or the command line) removes a staff member (not a bootstrap admin, not
    themselves)."""
    admins = set(admin_ids)
    await _may_manage(session, actor_id, admins)
    if user_id == actor_id and user_id not in admins:  # a bootstrap admin: refused below
        raise SelfRemoval()
    removed = await remove(session, user_id=user_id, admin_ids=admins)
    if removed:
        await _audit(session, actor_id, "staff.remove", user_id, now or utcnow())
    return removed
