"""The SQLite connection of write transactions: plain pysqlite, driven on the event loop.

A write transaction does not need to leave the event loop: once ``BEGIN IMMEDIATE``
holds SQLite's write lock, nothing inside the transaction waits for another
connection (in WAL mode readers never block the writer, and a commit does not sync to
disk with ``synchronous=NORMAL``), and the statements of a conversation step are short
indexed ones. So write transactions run on a plain, synchronous pysqlite engine
(``writer_engine``), called from the event loop's thread: no worker thread, and none
of the asynchronous adapter's work per statement (aiosqlite's round trips to its
thread, SQLAlchemy's greenlet switches for each cursor, execute, fetch and close,
about 60 microseconds a statement on the ordinary 2-core machine). The sessions still
have ``AsyncSession``'s interface, so the services are the same for both databases:
``LoopBind`` gives ``AsyncSession`` the synchronous connection, and its methods then run
the synchronous session's in a greenlet that never has anything to wait for.

What may wait stays off the loop or is waited for without blocking it:

- the write lock: ``BEGIN IMMEDIATE`` runs with ``busy_timeout=0``; when another
  process holds the lock, SQLite answers ``SQLITE_BUSY`` at once and the caller
  (``Database.transaction``) sleeps on the loop and tries again, up to the busy timeout;
- the WAL checkpoint (copying the log into the database file, with fsync) is switched
  off on this connection (``wal_autocheckpoint=0``) and done by ``checkpoint()`` on a
  connection of its own, in a worker thread, once every ``CHECKPOINT_EVERY`` write
  transactions or as soon as the log holds ``CHECKPOINT_WAL_BYTES``, and right after a
  write found the disk full; its last part holds the process's write turn
  (``Database.checkpoint``), so the whole log is copied and SQLite starts it again
  from the top;
- a write transaction that may touch many rows (a campaign's recipient snapshot, the
  hourly clean-up) asks for it (``Database.transaction(bulk=True)``) and runs on an
  aiosqlite engine instead, all of it in that connection's thread, so the event loop
  keeps answering citizens while it works.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine

from pmd_domain import jsoncodec

BEGIN_WRITE = "BEGIN IMMEDIATE"
# SQLite's own default checkpoints every 1,000 pages; a step writes a handful.
CHECKPOINT_EVERY = 200
# ... and the log is copied as soon as it holds this much, whatever the count (big
# writes, a certificate in the outbox). ``journal_size_limit`` cuts the file back to
# this size when the log starts again, so its size says how much it holds.
CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024


class _Cursor(sqlite3.Cursor):
    """A pysqlite cursor that answers what ``AsyncSession`` asks of a result's cursor."""

    async def _async_soft_close(self) -> None:
        """Nothing to do: the rows stay in the cursor and are read synchronously."""


class _Connection(sqlite3.Connection):
    """A pysqlite connection whose cursors are ``_Cursor``."""

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


class LoopBind:
    """What ``AsyncSession`` asks of its bind, for a synchronous connection run on the loop."""

    def __init__(self, connection: Connection):
        self.sync_engine = connection  # AsyncSession reads its bind's ``sync_engine``
        self.dialect = connection.dialect


def writer_engine(path: str, *, hide_parameters: bool = True) -> Engine:
    """The synchronous engine of write transactions on the database file ``path``.

    One connection is enough (a process runs one write transaction at a time); it is
    used from the event loop's thread only. Its pragmas are set by the caller's
    ``connect`` listener, the last of them ``busy_timeout=0``: this connection never
    waits for the lock.
    """
    return create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "factory": _Connection},
        pool_size=1,
        max_overflow=4,
        hide_parameters=hide_parameters,
        **jsoncodec.ENGINE_OPTIONS,
    )


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` (or the driver error it wraps) is SQLite's ``SQLITE_BUSY``."""
    for current in (error, getattr(error, "orig", None), error.__cause__):
        code = getattr(current, "sqlite_errorcode", None)
        if isinstance(current, sqlite3.Error) and isinstance(code, int):
            return code & 0xFF == sqlite3.SQLITE_BUSY  # any SQLITE_BUSY_*
    return False


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
