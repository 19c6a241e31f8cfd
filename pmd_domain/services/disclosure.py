"""Breakdowns published in batches, the same for every process on one database.

The public breakdowns (participants by gender, age group, sector, source and day;
proposals and supports by pillar, topic and day; the cross-tabulations) are not read
from the live counters but from the last *published* copy of them, one row of
``published_figures``. A new copy is published only when at least ``k`` changes (new
participants, new proposals and erasures; the ``changes`` counter) have accumulated
since the last one, and no sooner than ``limits.publication_interval_minutes`` after
it. So two snapshots around one person's participation show the same breakdowns.

Within a batch, each *family* of figures that counts people moves only when its own
figures changed by at least ``k`` since they were last published
(``next_figures``): the counts of people (every ``participants`` series, their total
included, together), and each pillar's column of the cross-tabulations (that column in
every table, together). A family that changed less keeps its published values for
another batch. Otherwise the k changes that make a batch due could all be elsewhere:
one woman's proposal in a pillar where nobody else proposed, among four proposals in
other pillars, would be the whole difference in that pillar's column, and one
person's correction of an answer among other people's proposals the whole difference
in that series. How much a family changed is the largest, over its series, of the sum
of the differences of its cells (a person who joins or leaves moves one cell of each
series by one, a correction two), so the difference of a family between two
publications is never one person's. Proposals and supports by pillar, topic and day
count contributions, each public on its own, and move with every batch.

Whichever process notices first publishes, with an UPDATE conditional on the version
it read: two processes never publish twice for the same changes. Publishing copies a
few hundred counter rows, whatever the number of participants.
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
    """The figures of the next batch: the live ones, except the families of figures
    that changed by less than ``k`` since ``published`` (see the module docstring)."""
    result = {key: dict(v) for key, v in live.items() if key[0] != CHANGES[0]}
    keys = set(result) | set(published)
    people = [key for key in keys if key[0] == PEOPLE]
    moved = max((_distance(live.get(x, {}), published.get(x, {})) for x in people), default=0)
    if moved < k:
        for key in people:
            result[key] = dict(published.get(key, {}))
    tables = [key for key in keys if key[0] == "proposals" and key[1].endswith(CROSSTAB_SUFFIX)]
    pillars = {
        bucket.partition("|")[2]
        for key in tables
        for bucket in (*live.get(key, {}), *published.get(key, {}))
    }
    for pillar in sorted(pillars):
        change = max(
            _distance(_column(live.get(x, {}), pillar), _column(published.get(x, {}), pillar))
            for x in tables
        )
        if change >= k:
            continue
        for key in tables:
            kept = {b: v for b, v in result.get(key, {}).items() if b.partition("|")[2] != pillar}
            result[key] = {**kept, **_column(published.get(key, {}), pillar)}
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
