"""Kiosks: browsers that staff enrolled for in-person participation (módulos, brigadas).

A kiosk's browser holds a random token (in a signed cookie, see ``web/identity.py``);
the database keeps only its keyed hash. Participants who join at a kiosk are
``verified`` (staff were there) and a kiosk is exempt from the per-address limits.
Enrolling and withdrawing are staff actions (permission ``integrity``) written to
the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import Kiosk
from pmd_domain.errors import NotFound
from pmd_domain.hashing import keyed_hash
from pmd_domain.services import audit, staff
from pmd_domain.services.texts import require_text

PERMISSION = "integrity"
LABEL_MAX_CHARS = 80


def _hash(secret: str, token: str) -> str:
    return keyed_hash(secret, "kiosk", token)


async def enroll(
    session: AsyncSession,
    *,
    secret: str,
    label: str,
    staff_id: int,
    admin_ids: Iterable[int],
    now: datetime,
) -> tuple[Kiosk, str]:
    """Enroll a kiosk named ``label``; its row and the token for the browser's cookie."""
    await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission=PERMISSION)
    name = require_text(label, min_chars=2, max_chars=LABEL_MAX_CHARS)
    token = secrets.token_urlsafe(24)
    kiosk = Kiosk(
        label=name, token_hash=_hash(secret, token), enrolled_by=staff_id, enrolled_at=now
    )
    session.add(kiosk)
    await session.flush()
    await audit.record(
        session,
        actor=audit.staff_actor(staff_id),
        action="kiosk.enroll",
        target=f"kiosk:{kiosk.id}",
        now=now,
    )
    return kiosk, token


async def active(session: AsyncSession, *, secret: str, token: str) -> Kiosk | None:
    """The kiosk behind a browser's token, unless it was withdrawn."""
    return await session.scalar(
        select(Kiosk).where(Kiosk.token_hash == _hash(secret, token), Kiosk.revoked_at.is_(None))
    )


async def withdraw(
    session: AsyncSession,
    *,
    kiosk_id: int,
    staff_id: int,
    admin_ids: Iterable[int],
    now: datetime,
) -> Kiosk:
    """Withdraw a kiosk: its browser is an ordinary one from now on."""
    await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission=PERMISSION)
    kiosk = await session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound("kiosk")
    if kiosk.revoked_at is None:
        kiosk.revoked_at = now
        await audit.record(
            session,
            actor=audit.staff_actor(staff_id),
            action="kiosk.withdraw",
            target=f"kiosk:{kiosk.id}",
            now=now,
        )
    await session.flush()
    return kiosk


async def listing(session: AsyncSession) -> list[Kiosk]:
    """Every kiosk, the ones in use first, newest first."""
    rows = await session.scalars(
        select(Kiosk).order_by(Kiosk.revoked_at.is_not(None), Kiosk.enrolled_at.desc())
    )
    return list(rows)
