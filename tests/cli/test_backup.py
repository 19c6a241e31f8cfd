"""``pmd db backup`` / ``pmd db restore`` on both databases, as real subprocesses."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant, Proposal, ServingProcess
from pmd_domain.services import serving
from tests.cli.test_cli import pmd
from tests.factories import make_participant, make_proposal

_names = itertools.count(1)


def fresh_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """An empty database of the same kind as ``database_url`` (nothing migrated)."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / f'fresh-{next(_names)}.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    from tests.conftest import run_async

    return str(run_async(server.create_database(f"pmd_fresh_{next(_names)}")))


async def counts(url: str) -> tuple[int, int]:
    database = Database(url)
    try:
        async with database.reading() as session:
            people = await session.scalar(select(func.count()).select_from(Participant))
            proposals = await session.scalar(select(func.count()).select_from(Proposal))
    finally:
        await database.dispose()
    return int(people or 0), int(proposals or 0)


async def add_people(url: str, consultation: Consultation, n: int) -> None:
    database = Database(url)
    try:
        async with database.transaction() as session:
            for _ in range(n):
                person = await make_participant(session, consultation)
                await make_proposal(session, consultation, person)
    finally:
        await database.dispose()


async def run(*args: str, url: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(pmd, *args, env={"PMD_DATABASE_URL": url})
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow
async def test_backup_restore_round_trip_and_the_served_guard(
    request: pytest.FixtureRequest, database_url: str, consultation: Consultation, tmp_path: Path
) -> None:
    await add_people(database_url, consultation, 3)
    file = tmp_path / "respaldo.bak"
    code, out, err = await run("db", "backup", str(file), url=database_url)
    assert code == 0, err
    assert "comprobado" in out and file.stat().st_size > 0
    assert not list(tmp_path.glob(".*partial"))

    # A fresh database gets exactly the backed-up rows.
    fresh = fresh_url(request, database_url, tmp_path)
    code, out, err = await run("db", "restore", str(file), url=fresh)
    assert code == 0, err
    assert await counts(fresh) == (3, 3)

    # Back on the first database: more rows, and a pmd serve process seen just now.
    await add_people(database_url, consultation, 2)
    database = Database(database_url)
    async with database.transaction() as session:
        now = utcnow()
        await serving.beat(
            session, process_id="p1", host="web-1", pid=4242, started_at=now, now=now
        )
    code, out, err = await run("db", "restore", str(file), url=database_url)
    assert code == 2
    assert "en servicio" in err and "web-1 (pid 4242)" in err and "--force" in err
    assert await counts(database_url) == (5, 5)
    code, out, err = await run("db", "restore", str(file), "--force", url=database_url)
    assert code == 0, err
    assert await counts(database_url) == (3, 3)
    # The process keeps serving: its next beat puts it back.
    async with database.transaction() as session:
        await serving.beat(
            session, process_id="p1", host="web-1", pid=4242, started_at=now, now=utcnow()
        )
    async with database.reading() as session:
        assert [p.id for p in await session.scalars(select(ServingProcess))] == ["p1"]
    await database.dispose()


async def test_restore_refuses_a_file_that_is_not_a_backup(
    database_url: str, tmp_path: Path
) -> None:
    junk = tmp_path / "no-es-respaldo.bak"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    code, _out, err = await run("db", "restore", str(junk), url=database_url)
    assert code == 2 and "no es un respaldo válido" in err
    code, _out, err = await run("db", "restore", str(tmp_path / "falta.bak"), url=database_url)
    assert code == 2 and "No existe" in err
    code, _out, err = await run("db", "restore", str(tmp_path), url=database_url)
    assert code == 2 and "es una carpeta" in err
