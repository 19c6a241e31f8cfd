"""The audit log: every staff action that changes results or trust, kept for review.

One ``record(...)`` for every caller (the web panel, the bot, the CLI). ``actor`` is
who acted (``staff:<telegram user id>``, ``cli``); ``target`` what was acted on
(``burst:s@prop:12:2962560``, ``codes:in_person``, ``kiosk:3``); ``details`` a small
JSON object with the figures (never a citizen's text, address or chat id).

``ACTIONS`` lists every action there is; each has a name for staff in the catalogues
(``audit.<action>``), which the panel's audit table shows beside the exact id.
``describe_details`` writes the details for staff: each key by its catalogue name
(``audit.detail.<key>``), a moment as the panel writes one, yes or no in words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain import digits
from pmd_domain.db.models import AuditEntry, StaffMember
from pmd_domain.i18n import Catalogs, moment

CLI = "cli"
ACTIONS = frozenset(
    {
        "broadcast.queue",
        "broadcast.pause",
        "broadcast.resume",
        "broadcast.cancel",
        "certificate.revoke",
        "codes.issue",
        "kiosk.enroll",
        "kiosk.withdraw",
        "moderation.publish",
        "moderation.reject",
        "moderation.reassign",
        "staff.link",
        "staff.remove",
        "staff.role",
        "supports.discount",
        "supports.restore",
    }
)


STAFF = "staff:"


def staff_actor(user_id: int) -> str:
    """The actor name of a staff member."""
    return f"{STAFF}{user_id}"


def _staff_id(actor: str) -> int | None:
    """The user id behind a staff member's actor name (``None``: another actor)."""
    number = actor.removeprefix(STAFF)
    return digits.number(number, signed=True) if number != actor else None


async def actor_names(
    session: AsyncSession, entries: list[AuditEntry], *, catalogs: Catalogs, language: str
) -> dict[str, str]:
    """Who each entry's actor is for staff: the command line in words, a member by name
    (or e-mail) while they are on the team; actors not named are left out (the panel
    shows their id alone)."""
    names = {CLI: catalogs.text(language, "audit.actor.cli")}
    ids = {i for entry in entries if (i := _staff_id(entry.actor)) is not None}
    if ids:
        members = await session.scalars(select(StaffMember).where(StaffMember.user_id.in_(ids)))
        names.update(
            (staff_actor(m.user_id), m.name or m.email or "") for m in members if m.name or m.email
        )
    return names


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry in the caller's transaction (it stands or falls with the action)."""
    if action not in ACTIONS:
        raise ValueError(f"not an audit action: {action!r}")
    entry = AuditEntry(
        at=now, actor=actor[:64], action=action[:48], target=target[:128], details=details or {}
    )
    session.add(entry)
    await session.flush()
    return entry


async def recent(session: AsyncSession, *, limit: int = 50) -> list[AuditEntry]:
    """The latest entries, newest first."""
    rows = await session.scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return list(rows)


def describe_details(
    details: dict[str, Any], *, catalogs: Catalogs, zone: str, language: str
) -> str:
    """``Cantidad: 1 · Vence: 1 feb 2027, 9:00 p.m.``: an entry's details for staff."""
    parts = []
    for key, value in details.items():
        name = f"audit.detail.{key}"
        label = catalogs.text(language, name) if catalogs.has(name) else key
        parts.append(
            f"{label}: {_readable(value, catalogs=catalogs, zone=zone, language=language)}"
        )
    return " · ".join(parts)


def _readable(value: Any, *, catalogs: Catalogs, zone: str, language: str) -> str:
    if isinstance(value, bool):
        return catalogs.text(language, "audit.yes" if value else "audit.no")
    if isinstance(value, str) and "T" in value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None:
            return moment(when, zone=zone, language=language)
    return str(value)
