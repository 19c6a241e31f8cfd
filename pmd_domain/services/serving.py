"""Which ``pmd serve`` processes are running on a database (each says so every few seconds).

``pmd db restore`` asks before it overwrites a database: a restore under a running
service would swap the data out from under the citizens it is serving.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.dialects import insert_for
from pmd_domain.db.models import ServingProcess

BEAT_SECONDS = 15.0
# A process not seen for this long is taken for gone (killed, or its machine is down).
GONE_AFTER = timedelta(seconds=3 * BEAT_SECONDS)

_TABLE = cast(Table, ServingProcess.__table__)


async def beat(
    session: AsyncSession,
    *,
    process_id: str,
    host: str,
    pid: int,
    started_at: datetime,
    now: datetime,
) -> None:
    """Record that the process ``process_id`` is serving now."""
    statement = (
        insert_for(session, _TABLE)
        .values(id=process_id, host=host[:255], pid=pid, started_at=started_at, seen_at=now)
        .on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
    )
    await session.execute(statement)


async def leave(session: AsyncSession, *, process_id: str) -> None:
    """The process stops serving."""
    await session.execute(delete(ServingProcess).where(ServingProcess.id == process_id))


async def serving(session: AsyncSession, *, now: datetime) -> list[ServingProcess]:
    """The processes seen serving within ``GONE_AFTER``."""
    rows = await session.scalars(
        select(ServingProcess)
        .where(ServingProcess.seen_at >= now - GONE_AFTER)
        .order_by(ServingProcess.started_at)
    )
    return list(rows)
