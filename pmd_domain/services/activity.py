"""Counts of events per minute: sliding-window limits and the anomaly watch's raw material.

One row per (kind, key, minute): ``kind`` says what is counted and by what (new
participants per address, supports per proposal...), ``key`` is the keyed hash of
an address, a campaign source or a proposal id, ``slot`` the minute since the epoch.
The rows live in the database, so a limit holds across every ``pmd serve`` process
on it; housekeeping deletes them after ``KEPT``.

A limit (``take``) is check-then-change under a lock: the current minute's row is
written first (an upsert that changes nothing), which on PostgreSQL locks it until
the transaction ends, so two processes counting the same key queue; SQLite's write
transactions are serial anyway. Then the window is summed and, if there is room,
the event counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation.schema import Window
from pmd_domain.db.dialects import INSERTS, dialect_of
from pmd_domain.db.models import Activity
from pmd_domain.db.statements import execute

KEPT = timedelta(hours=48)  # longer than any window and than the anomaly watch
_TABLE = cast(Table, Activity.__table__)


class Kind(StrEnum):
    """What a row counts."""

    PARTICIPANTS_BY_ADDRESS = "p@addr"
    SUPPORTS_BY_ADDRESS = "s@addr"
    REPORTS_BY_ADDRESS = "r@addr"
    CODES_BY_ADDRESS = "c@addr"
    CODES_BY_PARTICIPANT = "c@part"
    PARTICIPANTS_BY_SOURCE = "p@src"
    SUPPORTS_BY_SOURCE = "s@src"
    SUPPORTS_BY_PROPOSAL = "s@prop"


def slot_of(moment: datetime) -> int:
    """The minute of ``moment`` since the epoch."""
    return int(moment.timestamp() // 60)


def moment_of(slot: int) -> datetime:
    """The start of minute ``slot`` (UTC)."""
    return datetime.fromtimestamp(slot * 60, tz=UTC)


def _adding(insert: Any) -> Any:
    statement = insert(_TABLE).values(
        {name: bindparam(name) for name in ("kind", "key", "slot", "count")}
    )
    return statement.on_conflict_do_update(
        index_elements=["kind", "key", "slot"],
        set_={"count": _TABLE.c.count + statement.excluded.count},
    )


# Built once per dialect: a step only binds its values.
_ADD = {dialect: _adding(insert) for dialect, insert in INSERTS.items()}


async def _upsert(session: AsyncSession, *, kind: str, key: str, slot: int, add: int) -> None:
    await execute(
        session,
        _ADD[dialect_of(session)],
        {"kind": kind, "key": key[:64], "slot": slot, "count": add},
    )


async def note(session: AsyncSession, *, kind: Kind, key: str, now: datetime) -> None:
    """Count one event of ``kind`` for ``key`` now."""
    await _upsert(session, kind=kind, key=key, slot=slot_of(now), add=1)


async def count(session: AsyncSession, *, kind: Kind, key: str, minutes: int, now: datetime) -> int:
    """Events of ``kind`` for ``key`` in the last ``minutes`` (this minute included)."""
    current = slot_of(now)
    total = await session.scalar(
        select(func.coalesce(func.sum(Activity.count), 0)).where(
            Activity.kind == kind,
            Activity.key == key[:64],
            Activity.slot > current - minutes,
            Activity.slot <= current,
        )
    )
    return int(total or 0)


async def take(
    session: AsyncSession, *, kind: Kind, key: str, window: Window, now: datetime
) -> bool:
    """Count one event unless ``window`` is full for ``key``: True when it was counted."""
    current = slot_of(now)
    await _upsert(session, kind=kind, key=key, slot=current, add=0)  # locks this minute's row
    if await count(session, kind=kind, key=key, minutes=window.minutes, now=now) >= window.count:
        return False
    await session.execute(
        update(Activity)
        .where(Activity.kind == kind, Activity.key == key[:64], Activity.slot == current)
        .values(count=Activity.count + 1)
        .execution_options(synchronize_session=False)
    )
    return True


@dataclass(frozen=True)
class Heavy:
    """A key with at least a threshold of events of one kind in one window of time."""

    kind: str
    key: str
    start: int  # first minute of the window
    minutes: int
    count: int


async def heavy(
    session: AsyncSession,
    *,
    kind: Kind,
    since: datetime,
    minutes: int,
    threshold: int,
) -> list[Heavy]:
    """Windows of ``minutes`` (aligned on the clock) since ``since`` where a key reached ``threshold``."""
    bucket = Activity.slot // minutes  # integer division on both databases
    rows = await session.execute(
        select(Activity.key, bucket.label("bucket"), func.sum(Activity.count).label("n"))
        .where(Activity.kind == kind, Activity.slot >= slot_of(since))
        .group_by(Activity.key, bucket)
        .having(func.sum(Activity.count) >= threshold)
        .order_by(bucket.desc(), Activity.key)
    )
    return [
        Heavy(
            kind=str(kind),
            key=row.key,
            start=int(row.bucket) * minutes,
            minutes=minutes,
            count=int(row.n),
        )
        for row in rows
    ]


async def prune(session: AsyncSession, *, now: datetime) -> int:
    """Delete rows older than ``KEPT``; how many went."""
    result = await session.execute(delete(Activity).where(Activity.slot < slot_of(now - KEPT)))
    return int(result.rowcount)  # type: ignore[attr-defined]
