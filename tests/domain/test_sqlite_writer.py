"""SQLite write transactions run on the event loop; waiting and disk work do not."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db import Database
from pmd_domain.db.sqlite_writer import CHECKPOINT_EVERY, WriterConnection

ROOT = Path(__file__).resolve().parents[2]
BLOB = 40_000  # bytes a row: ten pages


@pytest.fixture
async def database(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB)"))
    yield database
    await database.dispose()


def _path(database: Database) -> Path:
    return Path(str(make_url(database.url).database))


async def _writer(session: AsyncSession) -> WriterConnection:
    connection = await (await session.connection()).get_raw_connection()
    writer = connection.driver_connection
    assert isinstance(writer, WriterConnection)
    return writer


def _rows_seen_by_another_connection(path: Path) -> int:
    with closing(sqlite3.connect(path)) as other:
        return int(other.execute("SELECT count(*) FROM notes").fetchone()[0])


async def test_a_write_transaction_never_leaves_the_event_loop(database: Database) -> None:
    async with database.transaction() as session:
        writer = await _writer(session)
        hops = writer.hops
        for _ in range(5):
            await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 5
    async with database.transaction() as session:
        assert await _writer(session) is writer
        await session.execute(text("DELETE FROM notes WHERE id = 1"))
    # BEGIN IMMEDIATE (the lock was free), the statements, the fetches and the
    # commits: none of them went through the connection's thread.
    assert writer.hops == hops
    assert _rows_seen_by_another_connection(_path(database)) == 4


async def test_a_bulk_transaction_runs_in_the_thread_and_the_next_one_inline_again(
    database: Database,
) -> None:
    async with database.transaction(bulk=True) as session:
        writer = await _writer(session)
        hops = writer.hops
        await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
        assert writer.hops > hops  # the statement went to the connection's thread
        hops = writer.hops
    assert writer.hops > hops  # and so did the commit
    assert _rows_seen_by_another_connection(_path(database)) == 1
    async with database.transaction() as session:
        assert await _writer(session) is writer
        hops = writer.hops
        await session.execute(text("INSERT INTO notes (body) VALUES ('y')"))
    assert writer.hops == hops


async def test_a_writer_of_another_process_is_waited_for_off_the_loop(
    database: Database,
) -> None:
    async with database.transaction() as session:
        writer = await _writer(session)
    hops = writer.hops
    with closing(sqlite3.connect(_path(database), isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        other.execute("INSERT INTO notes (body) VALUES ('theirs')")

        async def write() -> None:
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO notes (body) VALUES ('ours')"))

        step = asyncio.create_task(write())
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.02)
            ticks += 1
        # The loop kept running while our BEGIN waited for the lock in the thread.
        assert ticks == 10 and not step.done()
        other.execute("COMMIT")
        await asyncio.wait_for(step, timeout=5)
    assert writer.hops > hops
    with closing(sqlite3.connect(_path(database))) as reader:
        bodies = [r[0] for r in reader.execute("SELECT body FROM notes ORDER BY id")]
    assert bodies == ["theirs", "ours"]


async def test_a_failed_statement_inside_the_transaction_rolls_it_back(
    database: Database,
) -> None:
    async def half_done() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
            await session.execute(text("INSERT INTO missing (x) VALUES (1)"))

    with pytest.raises(OperationalError, match="no such table"):
        await half_done()
    assert _rows_seen_by_another_connection(_path(database)) == 0
    async with database.transaction() as session:  # the connection is usable again
        await session.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
    assert _rows_seen_by_another_connection(_path(database)) == 1


async def test_the_log_is_copied_into_the_database_apart_every_so_many_writes(
    database: Database,
) -> None:
    path = _path(database)
    empty = path.stat().st_size
    small = 2_000  # bytes a row: the log stays far below its size limit
    for _ in range(CHECKPOINT_EVERY - 2):  # the table's creation was one write
        async with database.transaction() as session:
            await session.execute(
                text("INSERT INTO notes (body) VALUES (randomblob(:n))"), {"n": small}
            )
        await asyncio.sleep(0)  # a checkpoint started meanwhile would get its turn
    # Several hundred pages, all still in the log (committed: another connection sees
    # every row), none in the file.
    assert _rows_seen_by_another_connection(path) == CHECKPOINT_EVERY - 2
    assert path.stat().st_size == empty
    async with database.transaction() as session:
        await session.execute(
            text("INSERT INTO notes (body) VALUES (randomblob(:n))"), {"n": small}
        )
    # That was write number CHECKPOINT_EVERY: it started the copy of the log, beside
    # the caller.
    await database.settled()
    assert path.stat().st_size > (CHECKPOINT_EVERY - 1) * small


def test_a_confirmed_write_survives_the_process_being_killed(sqlite_url: str) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from sqlalchemy import text
        from pmd_domain.db import Database

        async def main():
            database = Database({sqlite_url!r})
            async with database.transaction() as session:
                await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
            for number in range(1, 51):
                async with database.transaction() as session:
                    await session.execute(text(f"INSERT INTO notes (id) VALUES ({{number}})"))
                print(number, flush=True)  # confirmed
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == -9, done.stderr
    confirmed = [int(line) for line in done.stdout.split()]
    assert confirmed == list(range(1, 51))
    path = Path(str(make_url(sqlite_url).database))
    with closing(sqlite3.connect(path)) as reader:
        stored = [r[0] for r in reader.execute("SELECT id FROM notes ORDER BY id")]
    assert stored == confirmed
