"""Aggregate counters kept in the same transaction as the facts they count.

The dashboard reads these rows instead of scanning the data, so its cost does not
grow with the number of participants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.statements import execute

NO_ANSWER = "sin_respuesta"

_UPSERT = text(
    "INSERT INTO stat_counters (metric, dimension, bucket, value) "
    "VALUES (:metric, :dimension, :bucket, :value) "
    "ON CONFLICT (metric, dimension, bucket) "
    "DO UPDATE SET value = stat_counters.value + excluded.value"
)

Bump = tuple[str, str, str, int]


async def bump(session: AsyncSession, changes: Iterable[Bump]) -> None:
    """Add each ``(metric, dimension, bucket, delta)``; rows are touched in key order.

    A fixed order means two transactions never wait on each other's counters in a
    cycle (no deadlock on PostgreSQL).
    """
    merged: Counter[tuple[str, str, str]] = Counter()
    for metric, dimension, bucket, delta in changes:
        merged[(metric, dimension, bucket)] += delta
    rows = [
        {"metric": m, "dimension": d, "bucket": b, "value": v}
        for (m, d, b), v in sorted(merged.items())
        if v != 0
    ]
    if rows:
        await execute(session, _UPSERT, rows)


def bucket(value: str | None) -> str:
    """The counter bucket of an optional answer."""
    return value if value else NO_ANSWER
