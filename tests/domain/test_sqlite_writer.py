"""SQLite write transactions run on the event loop; waiting and disk work do not block it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.faults import describe, is_transient
from pmd_domain.db.models import ProcessedUpdate
from pmd_domain.db.sqlite_writer import CHECKPOINT_EVERY, CHECKPOINT_WAL_BYTES, wal_bytes

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


@contextmanager
def threads_of(database: Database) -> Iterator[list[int]]:
    """The threads every statement of a write transaction (BEGIN, COMMIT included) ran in."""
    seen: list[int] = []

    def statement(*_args: Any) -> None:
        seen.append(threading.get_ident())

    def transaction(_conn: Any) -> None:
        seen.append(threading.get_ident())

    engines = database.write_engines
    listeners = [("before_cursor_execute", statement), ("begin", transaction)]
    listeners.append(("commit", transaction))
    for engine in engines:
        for name, listener in listeners:
            event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for engine in engines:
            for name, listener in listeners:
                event.remove(engine, name, listener)


def _rows_seen_by_another_connection(path: Path) -> int:
    with closing(sqlite3.connect(path)) as other:
        return int(other.execute("SELECT count(*) FROM notes").fetchone()[0])


async def test_a_write_transaction_never_leaves_the_event_loop(database: Database) -> None:
    loop_thread = threading.get_ident()
    with threads_of(database) as threads:
        async with database.transaction() as session:
            for _ in range(5):
                await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
            assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 5
        async with database.transaction() as session:
            await session.execute(text("DELETE FROM notes WHERE id = 1"))
    # BEGIN IMMEDIATE (the lock was free), the statements and the commits: all of them
    # ran in the event loop's thread.
    assert len(threads) >= 2 + 6 + 1 and set(threads) == {loop_thread}
    assert _rows_seen_by_another_connection(_path(database)) == 4


SLOW = text(  # a statement that keeps SQLite busy for a while
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) "
    "SELECT count(*) FROM c"
)


async def _ticks_during(work: Any) -> int:
    """How many turns the event loop took while ``work`` ran."""
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0)
            ticks += 1

    counting = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    try:
        await work()
    finally:
        done = True
        await counting
    return ticks - start


async def test_a_bulk_transaction_leaves_the_loop_free_and_the_next_one_runs_on_it(
    database: Database,
) -> None:
    async def bulk() -> None:
        async with database.transaction(bulk=True) as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
            await session.scalar(SLOW)

    async def inline() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('y')"))
            await session.scalar(SLOW)

    # The bulk transaction's statements ran in its connection's thread: the loop
    # turned many times meanwhile. The next write ran on the loop: it never yielded.
    assert await _ticks_during(bulk) > 10
    assert await _ticks_during(inline) <= 1
    assert _rows_seen_by_another_connection(_path(database)) == 2


async def test_a_writer_of_another_process_is_waited_for_without_blocking_the_loop(
    database: Database,
) -> None:
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
        # The loop kept running while our BEGIN waited for the lock.
        assert ticks == 10 and not step.done()
        other.execute("COMMIT")
        await asyncio.wait_for(step, timeout=5)
    with closing(sqlite3.connect(_path(database))) as reader:
        bodies = [r[0] for r in reader.execute("SELECT body FROM notes ORDER BY id")]
    assert bodies == ["theirs", "ours"]


async def test_a_writer_that_never_gets_the_lock_fails_as_busy_after_the_busy_timeout(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pmd_domain.db.engine.SQLITE_BUSY_TIMEOUT_MS", 200)
    with closing(sqlite3.connect(_path(database), isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(Exception) as failed:
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO notes (body) VALUES ('ours')"))
        other.execute("ROLLBACK")
    # A passing failure, named as such (Database.write tries it again).
    assert describe(failed.value)["code"] == "SQLITE_BUSY" and is_transient(failed.value)
    async with database.transaction() as session:  # the lock is free again: usable
        await session.execute(text("INSERT INTO notes (body) VALUES ('later')"))
    assert _rows_seen_by_another_connection(_path(database)) == 1


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


async def test_each_write_transaction_starts_with_nothing_of_the_one_before(
    database: Database,
) -> None:
    async with database.transaction() as session:
        session.add(ProcessedUpdate(channel="web", update_id="kept", processed_at=utcnow()))
        session.info["flag"] = True

    async def failing() -> None:
        async with database.transaction() as session:
            session.add(ProcessedUpdate(channel="web", update_id="lost", processed_at=utcnow()))
            session.info["flag"] = True
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with database.transaction() as session:
        sync = session.sync_session
        assert not session.info and not sync.new and not sync.dirty
        assert len(sync.identity_map) == 0
        assert await session.get(ProcessedUpdate, ("web", "lost")) is None
        assert await session.get(ProcessedUpdate, ("web", "kept")) is not None


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


async def test_under_writes_without_a_pause_the_log_is_copied_and_starts_again(
    database: Database,
) -> None:
    # Writes follow one another with no quiet moment for the copy: each time the log
    # outgrows its limit it must still be copied whole and start again from the top,
    # so its file stays near the limit instead of growing with every write.
    path = _path(database)
    started = _checkpoints(database)
    largest = 0
    for _ in range(3 * CHECKPOINT_WAL_BYTES // BLOB):
        async with database.transaction() as session:
            await session.execute(
                text("INSERT INTO notes (body) VALUES (randomblob(:n))"), {"n": BLOB}
            )
        largest = max(largest, wal_bytes(str(path)))
        await asyncio.sleep(0)  # other work of the loop, a checkpoint starting among it
    await database.settled()
    # Past the limit by what lands before a look at the size and during the copy.
    assert largest < 2 * CHECKPOINT_WAL_BYTES
    # A copy each time the log filled up, not one at every look at its size.
    assert len(started) <= 6


def _checkpoints(database: Database) -> list[str]:
    """The checkpoints the database starts from now on (a list that fills up)."""
    started: list[str] = []
    original = database.checkpoint

    async def counted(*, truncate: bool = False) -> None:
        started.append("truncate" if truncate else "passive")
        await original(truncate=truncate)

    database.checkpoint = counted  # type: ignore[method-assign]
    return started


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


async def test_a_commit_that_fails_leaves_the_writer_ready_for_the_next_transaction(
    database: Database,
) -> None:
    # A deferred foreign key is checked at COMMIT, which then fails and leaves SQLite's
    # transaction open, as a commit into a full disk can.
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        await session.execute(
            text(
                "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER"
                " REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO children (parent) VALUES (7)"))
    async with database.transaction() as session:  # the next one begins and commits
        await session.execute(text("INSERT INTO notes (body) VALUES ('after')"))
    assert _rows_seen_by_another_connection(_path(database)) == 1


async def test_a_glance_reads_on_the_loop_without_the_write_lock(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
    loop_thread = threading.get_ident()
    with threads_of(database) as threads:
        async with database.glance() as session:
            assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 1
            # Its BEGIN took no write lock: another process writes meanwhile.
            with closing(sqlite3.connect(_path(database), isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO notes (body) VALUES ('other')")
                other.execute("COMMIT")
    assert threads and set(threads) == {loop_thread}
    # The writer goes on as before, and sees the other process's row.
    async with database.transaction() as session:
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 2


async def test_a_glance_during_a_write_in_progress_reads_apart_and_sees_only_commits(
    database: Database,
) -> None:
    written = asyncio.Event()
    release = asyncio.Event()

    async def bulk() -> None:
        async with database.transaction(bulk=True) as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
            written.set()
            await release.wait()

    writing = asyncio.create_task(bulk())
    await written.wait()
    async with database.glance() as session:
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 0
    release.set()
    await writing
    async with database.glance() as session:
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 1


async def test_a_failed_glance_leaves_the_writer_ready(database: Database) -> None:
    with pytest.raises(OperationalError):
        async with database.glance() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
    assert _rows_seen_by_another_connection(_path(database)) == 1
