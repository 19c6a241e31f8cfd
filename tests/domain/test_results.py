"""What became of the consultation, on SQLite and PostgreSQL, and what its reads cost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.services import analysis, proposals, results
from tests.factories import make_participant, make_proposal


async def _answered(db: Database, consultation: Consultation) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        water = await make_proposal(session, consultation, author)
        lamps = await make_proposal(session, consultation, author, topic="alumbrado")
        hidden = await make_proposal(session, consultation, author, publish=False)
        for record, actions in (
            (water, ["2.1.1", "2.4.1"]),
            (lamps, ["2.2.1"]),
            (hidden, ["2.1.1"]),
        ):
            await analysis.align(
                session, consultation=consultation, proposal_id=record.id, actions=actions
            )
        await analysis.record_outcome(session, proposal_id=water.id, outcome="incluida", now=now)
        await analysis.record_outcome(session, proposal_id=hidden.id, outcome="no_procede", now=now)
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=lamps.id,
            decision="publish",
            staff_id=1,
            now=now,
        )


async def test_results_count_published_proposals_per_pillar_and_action(
    db: Database, consultation: Consultation
) -> None:
    await _answered(db, consultation)
    async with db.reading() as session:
        figures = await results.compute(session, consultation=consultation)
    assert figures["published"] == 2 and figures["answered"] == 1
    assert figures["outcomes"] == {"incluida": 1, "considerada": 0, "no_procede": 0}
    assert figures["modified"] is not None
    servicios = next(p for p in figures["pillars"] if p["key"] == "servicios")
    actions = {a["key"]: (a["aligned"], a["outcomes"]) for a in servicios["actions"]}
    assert actions["2.1.1"] == (
        1,
        {"incluida": 1, "considerada": 0, "no_procede": 0, "sin_resultado": 0},
    )  # the pending proposal aligned with it is not public
    assert actions["2.2.1"][0] == 1 and actions["2.2.1"][1]["sin_resultado"] == 1
    assert actions["2.3.1"][0] == 0
    rows = results.rows(figures)
    assert all(list(row) == list(results.COLUMNS) for row in rows)
    pillar_row = next(r for r in rows if r["eje"] == "servicios" and not r["accion"])
    assert pillar_row["propuestas"] == 1 and pillar_row["incluidas"] == 1


async def test_the_results_read_the_answers_and_alignments_not_every_proposal(
    sqlite_url: str, consultation: Consultation
) -> None:
    db = Database(sqlite_url)
    try:
        await _answered(db, consultation)
        seen: list[tuple[str, Any]] = []
        async with db.reading() as session:
            engine = session.bind.engine  # type: ignore[union-attr]

            def remember(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
                if statement.lstrip().upper().startswith("SELECT"):
                    seen.append((statement, params))

            event.listen(engine, "before_cursor_execute", remember)
            try:
                await results.compute(session, consultation=consultation)
            finally:
                event.remove(engine, "before_cursor_execute", remember)
            connection = await session.connection()
            plans = []
            for statement, params in seen:
                raw = await connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, tuple(params)
                )
                plans.append(" ".join(str(row[-1]) for row in raw.all()))
    finally:
        await db.dispose()
    assert len(plans) == 3
    for plan in plans:
        # a scan of the alignments is fine (the staff's work); of the proposals it is not
        assert "SCAN proposals" not in plan, plan
        assert "USING INDEX ix_proposals_status_pillar" not in plan, plan
