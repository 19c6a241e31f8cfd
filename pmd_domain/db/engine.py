"""Database engines and transactions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from pmd_domain.db.sqlite_writer import (
    BEGIN_WRITE,
    CHECKPOINT_EVERY,
    WriterConnection,
    checkpoint,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
WIPE = "pmd_wipe_after_commit"


def wipe_after_commit(session: AsyncSession) -> None:
    """Ask for the WAL to be checkpointed and emptied once this transaction commits."""
    session.info[WIPE] = True


log = logging.getLogger("pmd.db")


def _prepare_sqlite_file(url: str) -> None:
    """Create the database file readable by its owner only, in a folder of its own.

    A missing folder is created 0700; the file, and the ``-wal`` and ``-shm`` files
    SQLite creates beside it with the same mode, are 0600 (an existing file is
    tightened). An existing folder is left as the operator made it.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            name.chmod(0o600)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    _prepare_sqlite_file(url)
    if immediate:
        # Write transactions run their statements on the event loop (see sqlite_writer).
        path = make_url(url).database or ":memory:"
        engine = create_async_engine(
            url,
            async_creator=lambda: WriterConnection(path, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS),
        )
    else:
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
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
        if immediate:
            # Commits run on the event loop; the checkpoint's disk work runs apart.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    begin = BEGIN_WRITE if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver's cursor: nothing to compile and no result to build,
        # at the start of every transaction.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(begin)
        finally:
            cursor.close()

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
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.read_engine = self.engine
        # SQLite has one writer at a time: writers of this process queue here instead of
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self._write_turn = asyncio.Lock() if self.is_sqlite else None
        self._path = make_url(url).database if self.is_sqlite else None
        self._writes = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction, committed on success.

        ``bulk``: the transaction may touch many rows; on SQLite its statements then
        run in the connection's thread instead of on the event loop (see sqlite_writer).
        """
        # The write turn is released right after the commit, before the session closes.
        session = self._sessions()
        writer: WriterConnection | None = None
        try:
            async with self._write_turn or contextlib.nullcontext(), session.begin():
                if bulk and self.is_sqlite:
                    raw = await (await session.connection()).get_raw_connection()
                    if isinstance(raw.driver_connection, WriterConnection):
                        writer = raw.driver_connection
                        writer.inline = False
                yield session
        finally:
            if writer is not None:
                writer.inline = True
            if self.is_sqlite:
                # Closing the writer's session never leaves the event loop (see
                # sqlite_writer): no other chat's work slips in before the reply.
                await session.close()
            else:
                # The close talks to the server: finish it even if the step is cancelled.
                await asyncio.shield(session.close())
        if self._path is not None:
            self._writes += 1
            if session.info.pop(WIPE, False):
                # An erasure committed: its old rows must not linger in the WAL file.
                await self.settled()
                await self.checkpoint(truncate=True)
            elif self._writes % CHECKPOINT_EVERY == 0:
                self._checkpoint_soon()

    def _checkpoint_soon(self) -> None:
        """Start a checkpoint beside the caller (whose reply does not wait for the disk)."""
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.get_running_loop().create_task(self.checkpoint())
            self._checkpointing.add_done_callback(_report_failure)

    async def checkpoint(self, *, truncate: bool = False) -> None:
        """SQLite: copy the write-ahead log into the database file, in a worker thread."""
        if self._path is not None and self._path != ":memory:":
            await asyncio.to_thread(
                checkpoint, self._path, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS, truncate=truncate
            )

    async def settled(self) -> None:
        """Wait for a checkpoint started in the background, if one is running."""
        if self._checkpointing is not None and not self._checkpointing.done():
            await asyncio.wait([self._checkpointing])

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection (after a checkpoint in progress)."""
        await self.settled()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
