"""``Database.write`` retries what passes, gives up on the rest; health sees failing writes.

The failures are real: a SQLite file that runs out of pages (SQLITE_FULL), a
PostgreSQL server stopped and started again, or frozen with SIGSTOP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db import Database
from pmd_domain.db.sqlite_writer import CHECKPOINT_WAL_BYTES
from tests.pg import PostgresServer

BLOB = 100_000


async def _notes(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB)"))


async def _count(database: Database) -> int:
    async with database.reading() as session:
        return int((await session.execute(text("SELECT count(*) FROM notes"))).scalar_one())


class FullFirst:
    """A write that finds the SQLite file full the first ``times`` times, then fits."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.attempts = 0

    async def __call__(self, session: AsyncSession) -> str:
        self.attempts += 1
        pages = (await session.execute(text("PRAGMA page_count"))).scalar_one()
        limit = pages + 1 if self.attempts <= self.times else 1_000_000
        await session.execute(text(f"PRAGMA max_page_count={limit}"))
        await session.execute(text("INSERT INTO notes (body) VALUES (randomblob(:n))"), {"n": BLOB})
        return "stored"


async def test_a_write_that_fails_for_a_passing_reason_is_tried_again(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await _notes(database)
        work = FullFirst(times=2)
        assert await database.write(work, patience=10) == "stored"
        assert work.attempts == 3
        assert await _count(database) == 1
        assert not database.writes_failing
    finally:
        await database.dispose()


async def test_a_write_that_keeps_failing_gives_up_after_its_patience(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await _notes(database)
        work = FullFirst(times=1_000)
        with pytest.raises(OperationalError):
            await database.write(work, patience=0.5)
        assert work.attempts > 2
        assert database.writes_failing  # /healthz sees it
        # The next successful write clears it.
        await database.write(FullFirst(times=0))
        assert not database.writes_failing
    finally:
        await database.dispose()


async def test_a_mistake_is_not_tried_again(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    attempts = 0

    async def twice(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await session.execute(text("INSERT INTO notes (id) VALUES (1)"))
        await session.execute(text("INSERT INTO notes (id) VALUES (1)"))

    try:
        await _notes(database)
        with pytest.raises(IntegrityError):
            await database.write(twice, patience=10)
        assert attempts == 1
        assert not database.writes_failing
    finally:
        await database.dispose()


async def test_the_log_is_copied_into_the_database_once_it_grows_large(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    path = Path(str(make_url(sqlite_url).database))
    wal = Path(f"{path}-wal")
    try:
        await _notes(database)
        for _ in range(3 * CHECKPOINT_WAL_BYTES // BLOB):
            async with database.transaction() as session:
                await session.execute(
                    text("INSERT INTO notes (body) VALUES (randomblob(:n))"), {"n": BLOB}
                )
            await asyncio.sleep(0)
            await database.settled()
        # Far fewer writes than the count that triggers a checkpoint, yet the log never
        # grew much beyond its size limit: it was copied and started again.
        assert wal.stat().st_size < 2 * CHECKPOINT_WAL_BYTES
        assert path.stat().st_size > CHECKPOINT_WAL_BYTES
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_write_during_a_postgresql_restart_waits_for_it(
    own_postgres: PostgresServer,
) -> None:
    database = Database(own_postgres.url())
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT)"))
        await asyncio.to_thread(own_postgres.pg_ctl, "stop", "-m", "fast")

        async def store(session: AsyncSession) -> None:
            await session.execute(text("INSERT INTO notes (body) VALUES ('kept')"))

        writing = asyncio.create_task(database.write(store, patience=30))
        await asyncio.sleep(1.5)
        assert not writing.done()
        assert database.writes_failing
        await asyncio.to_thread(own_postgres.pg_ctl, "start")
        await asyncio.wait_for(writing, 20)
        assert not database.writes_failing
        async with database.reading() as session:
            bodies = (await session.execute(text("SELECT body FROM notes"))).scalars().all()
        assert bodies == ["kept"]
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_frozen_postgresql_does_not_hang_the_health_check(
    own_postgres: PostgresServer,
) -> None:
    database = Database(own_postgres.url())
    try:
        assert await database.ping(timeout=1.0)
        with own_postgres.frozen():
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert not await database.ping(timeout=1.0)
            assert not await database.ping(timeout=1.0)
            assert loop.time() - started < 3.0
        assert await database.ping(timeout=5.0)
    finally:
        await database.dispose()
