"""Breakdowns published in batches, the same for every process on one database.

The public breakdowns (participants by gender, age group, sector, source and day;
proposals and supports by pillar, topic and day; the cross-tabulations) are not read
from the live counters but from the last *published* copy of them, one row of
``published_figures``. A new copy is published only when at least ``k`` changes (new
participants, new proposals and erasures; the ``changes`` counter) have accumulated
since the last one, and no sooner than ``limits.publication_interval_minutes`` after
it. So two snapshots around one person's participation show the same breakdowns.

Within a batch, each series that counts people (participants by an answer, source, day,
level, and their total) and each pillar's column of each cross-tabulation (its
proposals by their authors' answers) moves only when its own cells changed by at least
``2k - 1`` since they were last published (``next_figures``); otherwise it keeps its
published values for another batch. A person moves a series' cells by at most 2 (a join
or an erasure by 1, a correction of an answer by 2), so what a series shows changed
between two publications is always at least k people's. Without this, the k changes
that make a batch due could all be elsewhere: one woman's proposal in a pillar where
nobody else proposed would be the whole difference in that pillar's column, and one
person's correction among other people's proposals (or among level changes, which no
public series shows) the whole difference in that series. Proposals and supports by
pillar, topic and day count contributions, each public on its own, and move with every
batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import PublishedFigures, StatCounter

ROW = 1
CHANGES = ("changes", "total", "all")
_TABLE = cast(Table, PublishedFigures.__table__)

Counters = dict[tuple[str, str], dict[str, int]]


@dataclass(frozen=True)
class Batch:
    """One publication: when, after how many changes, and the counter values it shows."""

    version: int
    published_at: datetime | None
    mark: int
    figures: Counters = field(default_factory=dict)


async def live_counters(session: AsyncSession) -> Counters:
    """Every counter as ``{(metric, dimension): {bucket: value}}``."""
    table: Counters = {}
    for row in await session.execute(
        select(StatCounter.metric, StatCounter.dimension, StatCounter.bucket, StatCounter.value)
    ):
        table.setdefault((row.metric, row.dimension), {})[row.bucket] = int(row.value)
    return table


async def current(session: AsyncSession) -> Batch:
    """The batch in force (version 0, empty, before the first publication)."""
    row = await session.get(PublishedFigures, ROW, populate_existing=True)
    if row is None:
        return Batch(version=0, published_at=None, mark=0)
    figures: Counters = {}
    for name, buckets in (row.figures or {}).items():
        metric, _, dimension = name.partition("|")
        figures[(metric, dimension)] = {str(b): int(v) for b, v in buckets.items()}
    return Batch(
        version=int(row.version), published_at=row.published_at, mark=int(row.mark), figures=figures
    )


def changes(table: Counters) -> int:
    """How many changes the counters have seen (participants, proposals, erasures)."""
    metric, dimension, bucket = CHANGES
    return table.get((metric, dimension), {}).get(bucket, 0)


def due(batch: Batch, *, changes_now: int, consultation: Consultation, now: datetime) -> bool:
    """Whether a new batch may be published now."""
    if batch.published_at is None:
        return True
    if changes_now - batch.mark < consultation.limits.small_cell_k:
        return False
    every = timedelta(minutes=consultation.limits.publication_interval_minutes)
    return now - batch.published_at >= every


def _stored(table: Counters) -> dict[str, Any]:
    return {
        f"{metric}|{dimension}": dict(buckets)
        for (metric, dimension), buckets in sorted(table.items())
        if metric != CHANGES[0]
    }


PEOPLE = "participants"  # the metric of every count of people
CROSSTAB_SUFFIX = ":pillar"  # ("proposals", "<question>:pillar"), buckets "<answer>|<pillar>"


def _distance(now: dict[str, int], before: dict[str, int]) -> int:
    """The sum of the differences of the cells of one series."""
    return sum(abs(now.get(b, 0) - before.get(b, 0)) for b in set(now) | set(before))


def _column(cells: dict[str, int], pillar: str) -> dict[str, int]:
    return {b: v for b, v in cells.items() if b.partition("|")[2] == pillar}


def next_figures(published: Counters, live: Counters, *, k: int) -> Counters:
    """The figures of the next batch: the live ones, except each series of people and
    each cross-tabulation column that changed by less than ``2k - 1`` since
    ``published`` (see the module docstring)."""
    enough = 2 * k - 1
    result = {key: dict(v) for key, v in live.items() if key[0] != CHANGES[0]}
    for key in set(result) | set(published):
        before = published.get(key, {})
        if key[0] == PEOPLE and _distance(live.get(key, {}), before) < enough:
            result[key] = dict(before)
        elif key[0] == "proposals" and key[1].endswith(CROSSTAB_SUFFIX):
            now = live.get(key, {})
            kept = dict(now)
            for pillar in {b.partition("|")[2] for b in (*now, *before)}:
                if _distance(_column(now, pillar), _column(before, pillar)) < enough:
                    kept = {b: v for b, v in kept.items() if b.partition("|")[2] != pillar}
                    kept.update(_column(before, pillar))
            result[key] = kept
    return result


async def publish_if_due(database: Database, *, consultation: Consultation, now: datetime) -> Batch:
    """Publish a new batch when one is due; the batch in force either way."""
    async with database.reading() as session:
        batch = await current(session)
        # one row, not every counter: this runs at every refresh of the dashboard
        counted = await session.get(StatCounter, CHANGES, populate_existing=True)
    changes_now = int(counted.value) if counted is not None else 0
    if not due(batch, changes_now=changes_now, consultation=consultation, now=now):
        return batch
    async with database.transaction() as session:
        table = await live_counters(session)
        figures = (
            next_figures(batch.figures, table, k=consultation.limits.small_cell_k)
            if batch.published_at is not None
            else {key: dict(v) for key, v in table.items() if key[0] != CHANGES[0]}
        )
        result = await session.execute(
            _TABLE.update()
            .where(_TABLE.c.id == ROW, _TABLE.c.version == batch.version)
            .values(
                version=batch.version + 1,
                published_at=now,
                mark=changes(table),
                figures=_stored(figures),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if await session.get(PublishedFigures, ROW) is not None:
                return await current(session)  # another process published first
            session.add(
                PublishedFigures(
                    id=ROW,
                    version=1,
                    published_at=now,
                    mark=changes(table),
                    figures=_stored(figures),
                )
            )
    return Batch(
        version=batch.version + 1,
        published_at=now,
        mark=changes(table),
        figures=figures,
    )
