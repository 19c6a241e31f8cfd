"""Breakdowns in batches: the difference between two publications never shows one person.

A batch is due after k changes of any kind, but each series of people (and each pillar's
column in each cross-tabulation) moves only when its own cells changed by at least
2k - 1: a person moves a series by at most 2, so its difference is at least k people's.
Otherwise one proposal in a quiet pillar, or one person's correction among other
people's proposals (or among level changes, which no public series shows), would be the
whole difference in its figures between two batches.
"""

from __future__ import annotations

from datetime import timedelta

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import disclosure, participants
from tests.factories import make_participant, make_proposal

LATER = timedelta(minutes=11)


async def _column(db: Database, dim: str, pillar: str) -> dict[str, int]:
    async with db.reading() as session:
        batch = await disclosure.current(session)
    cells = batch.figures.get(("proposals", f"{dim}:pillar"), {})
    return {b.partition("|")[0]: v for b, v in cells.items() if b.endswith(f"|{pillar}") and v}


async def _series(db: Database, dim: str) -> dict[str, int]:
    async with db.reading() as session:
        batch = await disclosure.current(session)
    return {b: v for b, v in batch.figures.get(("participants", dim), {}).items() if v}


async def test_one_new_proposal_in_a_pillar_does_not_show_its_author_in_the_crosstab(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        for _ in range(6):
            person = await make_participant(session, consultation, gender="hombre")
            await make_proposal(session, consultation, person, pillar="seguridad", topic="policia")
    await disclosure.publish_if_due(db, consultation=consultation, now=now)
    assert await _column(db, "gender", "seguridad") == {"hombre": 6}
    # One woman proposes in seguridad; four others propose elsewhere: five changes.
    async with db.transaction() as session:
        victim = await make_participant(session, consultation, gender="mujer")
        await make_proposal(session, consultation, victim, pillar="seguridad", topic="policia")
        for _ in range(4):
            other = await make_participant(session, consultation, gender="hombre")
            await make_proposal(session, consultation, other, pillar="bienestar", topic="salud")
    batch = await disclosure.publish_if_due(db, consultation=consultation, now=now + LATER)
    assert batch.version == 2  # a batch was due (five changes)
    assert await _column(db, "gender", "seguridad") == {"hombre": 6}  # not "mujer: 1"
    assert await _column(db, "gender", "bienestar") == {}  # 4 proposals: too few
    assert await _series(db, "gender") == {"hombre": 6}  # 5 people: too few as well
    # Once the column changed by 2k - 1 of its own, it moves, all of them together.
    async with db.transaction() as session:
        for _ in range(8):
            other = await make_participant(session, consultation)
            await make_proposal(session, consultation, other, pillar="seguridad", topic="policia")
    await disclosure.publish_if_due(db, consultation=consultation, now=now + 2 * LATER)
    assert await _column(db, "gender", "seguridad") == {
        "hombre": 6,
        "mujer": 1,
        "sin_respuesta": 8,
    }
    assert await _series(db, "gender") == {"hombre": 10, "mujer": 1, "sin_respuesta": 8}


async def test_a_correction_among_other_peoples_proposals_does_not_show(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        people = [
            await make_participant(session, consultation, sector="comercio") for _ in range(8)
        ]
    await disclosure.publish_if_due(db, consultation=consultation, now=now)
    assert await _series(db, "sector") == {"comercio": 8}
    async with db.transaction() as session:
        victim = await participants.get(session, participant_id=people[0].id)
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=victim,
            question="sector",
            answer="hogar",
            now=now,
        )
        for person in people[1:6]:  # five proposals: a batch is due
            await make_proposal(session, consultation, person, publish=False)
    batch = await disclosure.publish_if_due(db, consultation=consultation, now=now + LATER)
    assert batch.version == 2
    assert await _series(db, "sector") == {"comercio": 8}  # the correction waits
    # With 2k - 1 of its own the series moves.
    async with db.transaction() as session:
        for _ in range(9):
            await make_participant(session, consultation, sector="comercio")
    await disclosure.publish_if_due(db, consultation=consultation, now=now + 2 * LATER)
    assert await _series(db, "sector") == {"comercio": 16, "hogar": 1}


def test_each_series_is_judged_by_its_own_change() -> None:
    """Level changes (no public series) do not carry one correction into the figures."""
    published = {
        ("participants", "gender"): {"hombre": 10, "mujer": 5, "sin_respuesta": 5},
        ("participants", "assurance"): {"phone": 10, "anonymous": 10},
        ("participants", "total"): {"all": 20},
    }
    live = {
        ("participants", "gender"): {"hombre": 10, "mujer": 6, "sin_respuesta": 4},
        ("participants", "assurance"): {"phone": 13, "anonymous": 7},  # three raised
        ("participants", "total"): {"all": 20},
    }
    for k in (2, 5):
        shown = disclosure.next_figures(published, live, k=k)
        assert shown[("participants", "gender")] == published[("participants", "gender")], k
