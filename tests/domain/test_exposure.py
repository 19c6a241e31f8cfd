"""Fair exposure: the views histogram follows views, publications and withdrawals."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Proposal, StatCounter
from pmd_domain.services import erasure, exposure, proposals, stats, votes
from tests.factories import make_participant, make_proposal, report_proposal


def _gini_by_definition(values: list[int]) -> float:
    """Mean absolute difference over twice the mean (the textbook definition)."""
    n, mean = len(values), sum(values) / len(values)
    return sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)


def test_gini_from_the_histogram_matches_the_definition() -> None:
    rng = random.Random(7)
    for _ in range(50):
        values = [rng.choice([0, 0, 1, 2, 3, 5, 8, 40]) for _ in range(rng.randint(1, 40))]
        histogram: dict[int, int] = {}
        for v in values:
            histogram[v] = histogram.get(v, 0) + 1
        if sum(values) == 0:
            assert exposure.gini(histogram) is None
            continue
        assert abs(exposure.gini(histogram) - _gini_by_definition(values)) < 1e-9  # type: ignore[operator]
    assert exposure.gini({7: 30}) == 0.0
    assert exposure.figures({"0": 3, "12": 1})["share_with_min_views"] == 0.25


def test_buckets_are_exact_below_a_thousand_then_double() -> None:
    assert [exposure.bucket_of(v) for v in (0, 9, 999, 1000, 1999, 2000, 5000)] == [
        0,
        9,
        999,
        1000,
        1000,
        2000,
        4000,
    ]
    assert exposure.viewed(1500) == []
    assert exposure.viewed(2000) == [
        ("exposure", "views", "1000", -1),
        ("exposure", "views", "2000", 1),
    ]


async def _histogram(db: Database) -> dict[int, int]:
    async with db.reading() as session:
        rows = await session.execute(
            select(StatCounter.bucket, StatCounter.value).where(
                StatCounter.metric == "exposure", StatCounter.value != 0
            )
        )
        return {int(b): int(v) for b, v in rows}


async def _truth(db: Database) -> dict[int, int]:
    async with db.reading() as session:
        rows = await session.execute(
            select(Proposal.views, func.count())
            .where(Proposal.status == "published")
            .group_by(Proposal.views)
        )
        return {int(v): int(n) for v, n in rows}


async def test_the_histogram_is_the_published_proposals_views_through_every_change(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        other = await make_participant(session, consultation)
        a = await make_proposal(session, consultation, author)
        b = await make_proposal(session, consultation, author, problem="Baches en la avenida.")
        c = await make_proposal(session, consultation, other, publish=False)
        ids = (a.id, b.id, c.id)
    assert await _histogram(db) == await _truth(db) == {0: 2}
    async with db.transaction() as session:
        for _ in range(3):
            await votes.record_view(session, proposal_id=ids[0])
        await votes.record_view(session, proposal_id=ids[2])  # not published: not counted
    assert await _histogram(db) == await _truth(db) == {0: 1, 3: 1}
    async with db.transaction() as session:
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=ids[2],
            decision="publish",
            staff_id=1,
            now=now,
        )
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=ids[1],
            decision="reject",
            staff_id=1,
            now=now,
            reason="Repetida",
        )
    assert await _histogram(db) == await _truth(db) == {0: 1, 3: 1}
    async with db.transaction() as session:
        await report_proposal(session, consultation, ids[0], times=3)  # back to moderation
    assert await _histogram(db) == await _truth(db) == {0: 1}
    async with db.transaction() as session:
        # erased without keeping: the author's published proposal leaves with them
        keep = consultation.privacy.model_copy(update={"keep_anonymous_proposals": False})
        await erasure.erase(
            session,
            consultation=consultation.model_copy(update={"privacy": keep}),
            participant_id=other.id,
            now=now,
        )
    assert await _histogram(db) == await _truth(db) == {}


async def test_the_snapshot_shows_how_even_the_exposure_was(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        made = [
            await make_proposal(session, consultation, author, problem=f"Problema {n} del barrio.")
            for n in range(4)
        ]
        for record, shown in zip(made, (0, 10, 10, 20), strict=True):
            for _ in range(shown):
                await votes.record_view(session, proposal_id=record.id)
    async with db.reading() as session:
        figures = await stats.snapshot(session, consultation=consultation, now=utcnow())
    assert figures["exposure"] == {
        "published": 4,
        "min_views": 10,
        "with_min_views": 3,
        "share_with_min_views": 0.75,
        "views": 40,
        "gini": round(_gini_by_definition([0, 10, 10, 20]), 4),
    }
