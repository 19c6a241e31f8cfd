"""Cache versions: a number per cached thing, bumped in the transaction that changes it.

A process that caches pages (the certificate verification page) reads the number at
most once per check interval and drops its cache when it moved, so a change made by
another process or by the CLI shows everywhere within that interval.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.dialects import insert_for
from pmd_domain.db.models import CacheVersion

CERTIFICATES = "certificates"  # a certificate revoked, deleted or renamed

_TABLE = cast(Table, CacheVersion.__table__)


async def bump(session: AsyncSession, name: str) -> None:
    """Move ``name``'s version on (inside the caller's transaction)."""
    statement = (
        insert_for(session, _TABLE)
        .values(name=name, version=1)
        .on_conflict_do_update(index_elements=["name"], set_={"version": _TABLE.c.version + 1})
    )
    await session.execute(statement)


async def current(session: AsyncSession, name: str) -> int:
    """``name``'s version now (0 before its first change)."""
    found = await session.scalar(select(CacheVersion.version).where(CacheVersion.name == name))
    return int(found or 0)
