"""A backup taken while citizens chat holds everything confirmed before it began.

``pmd serve`` (a real process, long polling the local Bot API server) serves twelve
citizens; midway ``pmd db backup`` runs as another process while they keep writing.
The backup is restored into a fresh database: every answer and folio the bot had
confirmed before the backup started is there, and ``pmd db restore`` refuses to
overwrite the database being served.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal
from tests.botapi import BotApiServer
from tests.cli.test_backup import fresh_url
from tests.e2e.citizens import PROBLEM, PROPOSAL, VISION
from tests.e2e.hosting import PMD, serve_env, start_pmd_serve
from tests.e2e.test_crash import CITIZENS, PROPOSALS, Robot

pytestmark = pytest.mark.slow


async def pmd(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(PMD), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert b"Traceback" not in err, err
    return int(process.returncode or 0), (out + err).decode()


async def stored(url: str) -> tuple[dict[str, Participant], dict[str, Proposal]]:
    database = Database(url)
    try:
        async with database.reading() as session:
            people = {p.external_id or "": p for p in await session.scalars(select(Participant))}
            proposals = {p.folio or "": p for p in await session.scalars(select(Proposal))}
    finally:
        await database.dispose()
    return people, proposals


async def test_a_backup_while_serving_restores_every_confirmed_row(
    request: pytest.FixtureRequest, botapi: BotApiServer, database_url: str, tmp_path: Path
) -> None:
    env, port = await serve_env(database_url, botapi.url, tmp_path)
    robots = [Robot(botapi, 9500 + n) for n in range(CITIZENS)]
    process = await start_pmd_serve(env, port)
    file = tmp_path / "respaldo.bak"
    try:
        citizens = asyncio.gather(*(robot.run(botapi) for robot in robots))
        while sum(len(robot.folios()) for robot in robots) < CITIZENS:  # about a third
            await asyncio.sleep(0.05)
        # What the bot had confirmed when the backup began.
        confirmed = {robot.chat_id: robot.folios() for robot in robots}
        code, said = await pmd("db", "backup", str(file), env=env)
        assert code == 0, said
        code, said = await pmd("db", "restore", str(file), env=env)
        assert code == 2 and "en servicio" in said  # not over the live database
        await asyncio.wait_for(citizens, 240)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)

    fresh = fresh_url(request, database_url, tmp_path)
    code, said = await pmd("db", "restore", str(file), env={**env, "PMD_DATABASE_URL": fresh})
    assert code == 0, said
    people, proposals = await stored(fresh)
    assert sum(map(len, confirmed.values())) >= CITIZENS
    for robot in robots:
        if not confirmed[robot.chat_id]:
            continue
        # A folio comes after the answers: they were confirmed too.
        person = people[str(robot.chat_id)]
        assert (person.gender, person.age_group, person.sector, person.postal_code) == (
            "mujer",
            "30_44",
            "estudiante",
            "42080",
        )
        for folio in confirmed[robot.chat_id]:
            proposal = proposals[folio]
            assert proposal.participant_id == person.id
            assert (proposal.problem, proposal.proposal, proposal.vision) == (
                PROBLEM,
                PROPOSAL,
                VISION,
            )
    # The citizens wrote on while the backup ran; the live database kept everything.
    _people, live = await stored(database_url)
    assert len(live) == CITIZENS * PROPOSALS
