"""Database engines and transactions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from pmd_domain import jsoncodec
from pmd_domain.db.faults import describe, is_transient
from pmd_domain.db.sqlite_writer import (
    BEGIN_WRITE,
    CHECKPOINT_EVERY,
    CHECKPOINT_WAL_BYTES,
    LoopBind,
    checkpoint,
    is_busy,
    wal_bytes,
    writer_engine,
)
from pmd_domain.logs import RepeatedLog

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Waiting for another process's SQLite write lock: pauses from 1 ms doubling to 50 ms.
BUSY_PAUSE_FIRST = 0.001
BUSY_PAUSE_MAX = 0.05
WIPE = "pmd_wipe_after_commit"
GLANCING = "pmd_glancing"  # the writer's connection is beginning a glance (a read)


def wipe_after_commit(session: AsyncSession) -> None:
    """Ask for the WAL to be checkpointed and emptied once this transaction commits."""
    session.info[WIPE] = True


# How long a write that fails for a passing reason is tried again (Database.write).
WRITE_PATIENCE_SECONDS = 60.0
RETRY_FIRST_SECONDS = 0.05
RETRY_MAX_SECONDS = 2.0
# PostgreSQL: a connection that cannot be made in this time is a failure to retry.
CONNECT_TIMEOUT_SECONDS = 5.0
POOL_TIMEOUT_SECONDS = 10.0
SIZE_CHECK_EVERY = 10  # write transactions between two looks at the log's size

log = logging.getLogger("pmd.db")
T = TypeVar("T")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite database URL names (``None``: not SQLite, in memory, or a URI)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite_file(url: str) -> None:
    """Create the database file readable by its owner only, in a folder of its own.

    A missing folder is created 0700; the file, and the ``-wal`` and ``-shm`` files
    SQLite creates beside it with the same mode, are 0600 (an existing file is
    tightened). An existing folder is left as the operator made it.
    """
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            name.chmod(0o600)


def _sqlite_pragmas(engine: Engine, *, begin: str, on_loop: bool = False) -> None:
    """The pragmas of every connection of ``engine`` and the BEGIN of its transactions.

    ``on_loop``: the writer run on the event loop, whose BEGIN must not wait for the
    lock (``busy_timeout=0`` once the other pragmas are set: see sqlite_writer).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below) so that write transactions take the lock up
        # front: a deferred transaction that upgrades to a writer can fail with
        # SQLITE_BUSY even with a busy timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL in WAL mode never loses a committed transaction when the process
        # dies; only a power cut can lose the last ones.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted content is overwritten with zeros, not left in free pages (erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        # When the log starts again after a checkpoint, its file is cut back to this
        # size: the disk space comes back, and the size says how much the log holds.
        cursor.execute(f"PRAGMA journal_size_limit={CHECKPOINT_WAL_BYTES}")
        if begin == BEGIN_WRITE:
            # Commits run on the event loop; the checkpoint's disk work runs apart.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        if on_loop:
            cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver's cursor: nothing to compile and no result to build,
        # at the start of every transaction. A glance (a read on the writer) begins a
        # read transaction, which takes no lock.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN" if conn.info.get(GLANCING) else begin)
        finally:
            cursor.close()


def _sqlite_engine(url: str, *, begin: str) -> AsyncEngine:
    """An aiosqlite engine: reads (``BEGIN``) and bulk writes (``BEGIN IMMEDIATE``)."""
    _prepare_sqlite_file(url)
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
        **jsoncodec.ENGINE_OPTIONS,
    )
    _sqlite_pragmas(engine.sync_engine, begin=begin)
    return engine


def _sqlite_writer(url: str) -> Engine:
    """The synchronous engine of the write transactions run on the loop (sqlite_writer)."""
    _prepare_sqlite_file(url)
    engine = writer_engine(make_url(url).database or ":memory:")
    _sqlite_pragmas(engine, begin=BEGIN_WRITE, on_loop=True)
    return engine


def _report_failure(task: asyncio.Task[None]) -> None:
    # A failed checkpoint loses nothing (the log keeps every commit); the next one
    # tries again. Say so instead of leaving the error unretrieved.
    if not task.cancelled() and task.exception() is not None:
        log.warning("WAL checkpoint failed", extra={"reason": type(task.exception()).__name__})


class Database:
    """The application's handle on its database: write and read transactions.

    ``transaction()`` is for anything that changes data; on SQLite it takes the write
    lock at BEGIN. ``reading()`` is for queries only and never blocks writers.
    """

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # SQLite: the write transactions' synchronous engine, run on the event loop.
        self.writer: Engine | None = None
        if self.is_sqlite:
            self.writer = _sqlite_writer(url)
            self.engine = _sqlite_engine(url, begin=BEGIN_WRITE)  # bulk writes, in a thread
            self.read_engine = _sqlite_engine(url, begin="BEGIN")
        else:
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=POOL_TIMEOUT_SECONDS,
                hide_parameters=True,
                connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
                **jsoncodec.ENGINE_OPTIONS,
            )
            self.read_engine = self.engine
        # SQLite has one writer at a time: writers of this process queue here instead of
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self._write_turn = asyncio.Lock() if self.is_sqlite else None
        self._path = make_url(url).database if self.is_sqlite else None
        self._writes = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._pinging: asyncio.Task[bool] | None = None
        self._failing_since: float | None = None  # a write failed for a passing reason
        self.failures = RepeatedLog()
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer_connection: Connection | None = None  # kept between write transactions
        self._kept_session: tuple[Connection, AsyncSession] | None = None
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def write_engines(self) -> list[Engine]:
        """The synchronous engines behind the write transactions (for listeners: metrics, tests)."""
        engines = [self.engine.sync_engine]
        if self.writer is not None:
            engines.insert(0, self.writer)
        return engines

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction, committed on success.

        ``bulk``: the transaction may touch many rows; on SQLite its statements then
        run in the connection's thread instead of on the event loop (see sqlite_writer).
        A failure for a passing reason is remembered until a write succeeds again
        (``writes_failing``, for ``/healthz``).
        """
        try:
            async with self._write_turn or contextlib.nullcontext():
                if self.writer is not None and not bulk:
                    connection = await self._begin_on_loop()
                    session = self._loop_session(connection)
                    sync = session.sync_session
                    # Nothing here awaits: the synchronous session's work runs right here
                    # on the loop (sqlite_writer), and no other chat's slips in.
                    try:
                        yield session
                        # What the ORM still holds goes into the transaction, which is
                        # the connection's to commit (the session only ever rolls back).
                        sync.flush()
                        connection.commit()
                    except BaseException:
                        self._roll_back_writer(sync, connection)
                        raise
                    finally:
                        sync.close()
                else:
                    session = self._sessions()
                    try:
                        async with session.begin():
                            yield session
                    finally:
                        # The close talks to the server: finish it even if cancelled.
                        await asyncio.shield(session.close())
        except Exception as error:
            if is_transient(error):
                self._failed(error)
            raise
        self._failing_since = None
        if self._path is not None:
            self._writes += 1
            if session.info.pop(WIPE, False):
                # An erasure committed: its old rows must not linger in the WAL file.
                await self.settled()
                await self.checkpoint(truncate=True)
            elif self._writes % CHECKPOINT_EVERY == 0 or (
                self._writes % SIZE_CHECK_EVERY == 0
                and self._path != ":memory:"
                and wal_bytes(self._path) > CHECKPOINT_WAL_BYTES
            ):
                self._checkpoint_soon()

    @asynccontextmanager
    async def glance(self) -> AsyncIterator[AsyncSession]:
        """A session for a short read by primary key or a small index range.

        On SQLite it runs on the writer's connection, on the event loop, in a read
        transaction (no lock: WAL readers neither wait nor make anyone wait): none of
        the asynchronous driver's thread round trips, about a millisecond less than
        ``reading()`` for one row. It never waits for a write: while one of this
        process's write transactions is open it reads through ``reading()`` instead,
        which sees only what is committed. Nothing it reads may take long: the loop
        serves nobody else meanwhile. Elsewhere it is ``reading()``.
        """
        if self.writer is None or self._write_turn is None or self._write_turn.locked():
            async with self.reading() as session:
                yield session
            return
        async with self._write_turn:  # free: taken at once, and no write begins meanwhile
            connection = self._begin_writer(glance=True)
            session = self._loop_session(connection)
            try:
                yield session
            finally:
                # A read has nothing to keep: its transaction ends rolled back.
                self._roll_back_writer(session.sync_session, connection)
                session.sync_session.close()

    async def _begin_on_loop(self) -> Connection:
        """The writer's connection, its ``BEGIN IMMEDIATE`` holding SQLite's write lock.

        The connection is kept from one write transaction to the next (a process runs
        one at a time). Another process holding the lock makes SQLite answer
        ``SQLITE_BUSY`` at once (the writer's ``busy_timeout`` is 0): the loop serves
        other work for a moment and the BEGIN is tried again, up to the busy timeout,
        then the error is raised.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = BUSY_PAUSE_FIRST
        while True:
            try:
                return self._begin_writer()
            except Exception as error:
                if not is_busy(error) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, BUSY_PAUSE_MAX)

    def _begin_writer(self, *, glance: bool = False) -> Connection:
        """Begin on the writer's kept connection (a new one if it is gone).

        ``glance``: a read transaction (plain ``BEGIN``) instead of ``BEGIN IMMEDIATE``.
        A connection whose BEGIN failed is not used again.
        """
        assert self.writer is not None
        connection = self._writer_connection
        try:
            if connection is None or connection.closed or connection.invalidated:
                connection = self._writer_connection = self.writer.connect()
            if glance:
                connection.info[GLANCING] = True
            try:
                connection.begin()
            finally:
                connection.info.pop(GLANCING, None)
            return connection
        except Exception:
            self._writer_connection = None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.invalidate()
            raise

    def _roll_back_writer(self, sync: Session, connection: Connection) -> None:
        """Undo a failed write transaction on the writer's connection, to the driver.

        A COMMIT that failed (the disk full) can leave SQLite's transaction open while
        SQLAlchemy already counts it as ended: the driver's connection is rolled back
        too, or the next BEGIN would fail. A connection that cannot even roll back is
        not used again.
        """
        try:
            sync.rollback()
            connection.rollback()  # also a transaction whose COMMIT failed
            raw = connection.connection.dbapi_connection
            if raw is not None and raw.in_transaction:
                raw.rollback()
        except Exception:
            self._writer_connection = None
            with contextlib.suppress(Exception):
                connection.invalidate()

    def _loop_session(self, connection: Connection) -> AsyncSession:
        """A session on the writer's connection, inside the transaction already begun.

        It flushes into that transaction and rolls it back on failure; the commit is
        the caller's (``join_transaction_mode="rollback_only"``). One session serves
        every transaction of the connection: each ends by closing it, which leaves it
        holding nothing, and its ``info`` is emptied here (building a new one was a
        few per cent of a WhatsApp step).
        """
        kept = self._kept_session
        if kept is not None and kept[0] is connection:
            kept[1].info.clear()
            return kept[1]
        session = AsyncSession(
            LoopBind(connection),  # type: ignore[arg-type]
            expire_on_commit=False,
            join_transaction_mode="rollback_only",
        )
        self._kept_session = (connection, session)
        return session

    async def write(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        patience: float = WRITE_PATIENCE_SECONDS,
    ) -> T:
        """Run ``work`` in a write transaction; a passing failure is tried again.

        A failure ``is_transient`` says will pass (connection lost or refused, a
        timeout, SQLite busy or its disk full, PostgreSQL shutting down) makes the
        whole transaction run again after a pause that doubles up to 2 s, the last try
        at ``patience`` seconds; then, or on any other failure, the error is raised.
        ``work`` must therefore do nothing but database work that a rollback undoes.
        """
        return await self._patiently(self.transaction, work, patience, "database write failed")

    async def read(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        patience: float = WRITE_PATIENCE_SECONDS,
        glance: bool = False,
    ) -> T:
        """Run ``work`` in a read transaction, tried again like ``write`` on a passing failure.

        For a read an update's step depends on (it must wait out an outage as the step
        does, not fail before it). ``glance``: a short read, run as ``glance()``.
        """
        opened = self.glance if glance else self.reading
        return await self._patiently(opened, work, patience, "database read failed")

    async def _patiently(
        self,
        opened: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        work: Callable[[AsyncSession], Awaitable[T]],
        patience: float,
        what: str,
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                async with opened() as session:
                    return await work(session)
            except Exception as error:
                left = deadline - loop.time()
                if not is_transient(error) or left <= 0:
                    raise
                self.failures.log(log, logging.WARNING, f"{what}, retrying", **describe(error))
            await asyncio.sleep(min(delay, left))  # the last try comes at the deadline
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    @property
    def writes_failing(self) -> bool:
        """Whether the last write transaction failed for a passing reason (none succeeded since)."""
        return self._failing_since is not None

    def _failed(self, error: Exception) -> None:
        if self._failing_since is None:
            self._failing_since = asyncio.get_running_loop().time()
        if self._path is not None and describe(error).get("code") == "SQLITE_FULL":
            # The log may hold committed pages the database file has room for: copy
            # them and give the log's disk space back.
            self._checkpoint_soon(truncate=True)

    def _checkpoint_soon(self, *, truncate: bool = False) -> None:
        """Start a checkpoint beside the caller (whose reply does not wait for the disk)."""
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.get_running_loop().create_task(
                self.checkpoint(truncate=truncate)
            )
            self._checkpointing.add_done_callback(_report_failure)

    async def checkpoint(self, *, truncate: bool = False) -> None:
        """SQLite: copy the write-ahead log into the database file, in a worker thread.

        SQLite starts the log again from the top only once all of it was copied, and
        under writes that never pause, some always landed during the copy: the log
        grew without end, and was copied again at every look at its size. So the copy
        runs twice: first while the process's writes go on (most of the log), then
        holding the process's write turn, which copies the little written meanwhile
        with no write landing, so that the next write starts the log again.
        """
        if self._path is None or self._path == ":memory:":
            return
        copy = functools.partial(checkpoint, self._path, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
        await asyncio.to_thread(copy)
        async with self._write_turn or contextlib.nullcontext():
            await asyncio.to_thread(copy, truncate=truncate)

    async def settled(self) -> None:
        """Wait for a checkpoint started in the background, if one is running."""
        if self._checkpointing is not None and not self._checkpointing.done():
            await asyncio.wait([self._checkpointing])

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def ping(self, *, timeout: float = 1.5) -> bool:  # noqa: ASYNC109 - one query shared
        """Whether the database answers a trivial query within ``timeout`` seconds.

        One query at a time: while an earlier one still waits (a frozen server),
        callers wait for it instead of piling up connections.
        """
        if self._pinging is None or self._pinging.done():
            self._pinging = asyncio.get_running_loop().create_task(self._ping())
        try:
            # The shared query goes on after a timeout; the next caller waits for it.
            return await asyncio.wait_for(asyncio.shield(self._pinging), timeout)
        except TimeoutError:
            return False

    async def _ping(self) -> bool:
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:
            self.failures.log(log, logging.WARNING, "database ping failed", **describe(error))
            return False
        return True

    def free_bytes(self) -> int | None:
        """SQLite: free space on the database file's disk (blocking call); None otherwise."""
        if self._path is None or self._path == ":memory:":
            return None
        stats = os.statvfs(Path(self._path).parent)
        return stats.f_bavail * stats.f_frsize

    async def dispose(self) -> None:
        """Close every pooled connection (after a checkpoint in progress)."""
        if self._pinging is not None and not self._pinging.done():
            self._pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pinging
        await self.settled()
        await self.engine.dispose()
        if self.writer is not None:
            if self._writer_connection is not None:
                self._writer_connection.close()
                self._writer_connection = None
            self.writer.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
