"""The SQLite connection of write transactions: their statements run on the event loop.

aiosqlite runs every call in the connection's own thread and wakes the event loop
when it is done: a statement costs about four such round trips (cursor, execute,
fetch, close), each waiting for a turn of a loop that is busy with other chats, and
a write transaction holds SQLite's single write lock all that time. A write
transaction does not need the thread: once ``BEGIN IMMEDIATE`` holds the write lock,
nothing inside the transaction waits for another connection (in WAL mode readers
never block the writer, and a commit does not sync to disk with
``synchronous=NORMAL``), and the statements of a conversation step are short indexed
ones. So this connection runs them, and the commit, directly on the event loop: a
step's transaction never leaves the loop and holds the lock only for its own work.

What may wait still goes to the thread: ``BEGIN IMMEDIATE`` is first tried without
waiting and only when another process holds the lock is it sent to the thread to
wait there (busy timeout); connecting, the connection's pragmas and closing go there
too. The one slow part of a commit, the WAL checkpoint (copying the log into the
database file, with fsync), is switched off on this connection
(``wal_autocheckpoint=0``) and done by ``checkpoint()`` on a connection of its own,
in a worker thread, once every ``CHECKPOINT_EVERY`` write transactions or as soon as
the log holds ``CHECKPOINT_WAL_BYTES``, and right after a write found the disk full.

A write transaction that may touch many rows (a campaign's recipient snapshot, the
hourly clean-up) turns ``inline`` off for its duration (``Database.transaction(bulk=True)``):
its statements and its commit then run in the thread as aiosqlite's always did, so the
event loop keeps answering citizens while it works.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

import aiosqlite

BEGIN_WRITE = "BEGIN IMMEDIATE"
# SQLite's own default checkpoints every 1,000 pages; a step writes a handful.
CHECKPOINT_EVERY = 200
# ... and the log is copied as soon as it holds this much, whatever the count (big
# writes, a certificate in the outbox). ``journal_size_limit`` cuts the file back to
# this size when the log starts again, so its size says how much it holds.
CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024


class WriterConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs the work of an open write transaction inline."""

    def __init__(self, path: str, *, busy_timeout_ms: int):
        def connect() -> sqlite3.Connection:
            # Used from the event loop's thread and from the connection's own thread,
            # never from both at once (each call is awaited before the next).
            return sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)

        super().__init__(connect, iter_chunk_size=64)
        self._thread.daemon = True
        self.busy_timeout_ms = busy_timeout_ms
        self.hops = 0  # calls sent to the thread (for tests)
        self.inline = True  # False: the open transaction is a bulk one, all in the thread

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        if connection is None or not self._running or not self.inline:
            return await self._in_thread(fn, *args, **kwargs)
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, sqlite3.Cursor):
            if args and args[0] == BEGIN_WRITE and not connection.in_transaction:
                return await self._begin(connection, fn, *args)
            if connection.in_transaction or fn.__name__ == "close":
                return fn(*args, **kwargs)
        elif owner is connection and fn.__name__ in ("cursor", "rollback", "commit"):
            # A new cursor touches no data; a rollback only drops this connection's work.
            return fn(*args, **kwargs)
        return await self._in_thread(fn, *args, **kwargs)

    async def _in_thread(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.hops += 1
        return await super()._execute(fn, *args, **kwargs)

    async def _begin(self, connection: sqlite3.Connection, fn: Any, *args: Any) -> Any:
        """Take the write lock now if it is free, else wait for it in the thread."""
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # any SQLITE_BUSY_*
                raise
        finally:
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        # Another process is writing: wait in the thread, with the busy timeout.
        return await self._in_thread(fn, *args)


def checkpoint(path: str, *, busy_timeout_ms: int, truncate: bool = False) -> None:
    """Copy the WAL into the database file (blocking call).

    PASSIVE waits for nobody. ``truncate``: TRUNCATE waits for readers as long as the
    busy timeout allows, copies everything and empties the WAL file, giving its disk
    space back (after the disk was full) and leaving no old copy of an erased row in it.
    """
    mode = "TRUNCATE" if truncate else "PASSIVE"
    with contextlib.closing(sqlite3.connect(path, timeout=busy_timeout_ms / 1000)) as conn:
        conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()


def wal_bytes(path: str) -> int:
    """The size of the database's write-ahead log file (0 when there is none)."""
    try:
        return os.stat(f"{path}-wal").st_size
    except OSError:
        return 0
