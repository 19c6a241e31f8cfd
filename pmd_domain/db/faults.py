"""Which database failures pass, and how to name one in a log without its data.

A *transient* failure is one where doing the same work again a little later can
succeed: the connection was lost, refused or timed out, SQLite was busy or its
disk full, PostgreSQL is shutting down or not accepting connections yet. Every
channel retries a conversation step that failed this way (``Database.write``)
before telling the citizen anything. Anything else (a mistake in a statement, a
constraint violated) fails at once.

``describe`` gives what a log line may carry: the exception's type, SQLite's
result code name (``SQLITE_FULL``) or PostgreSQL's SQLSTATE (``57P01``), and
whether the connection was invalidated. Never the message: a driver's message can
repeat the statement's parameters, that is what a citizen typed.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

# SQLite primary result codes worth another try (extended codes map onto these).
TRANSIENT_SQLITE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_INTERRUPT,
    }
)
# PostgreSQL SQLSTATE classes and codes worth another try: connection exceptions,
# insufficient resources (disk full, too many connections), and the server going
# away or not accepting connections yet, a query cancelled by a timeout,
# serialization failures and deadlocks, a lock not available.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
TRANSIENT_SQLSTATES = frozenset(
    {"57014", "57P01", "57P02", "57P03", "57P05", "55P03", "40001", "40P01"}
)
NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, the driver error it wraps, and their causes (each once)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code if isinstance(error, sqlite3.Error) and isinstance(code, int) else None


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) and state else None


def _network(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if type(error) is OSError:
        # asyncio reports every address of a host failing as one OSError without errno.
        return error.errno in NETWORK_ERRNOS or (
            error.errno is None and str(error).startswith("Multiple exceptions")
        )
    return False


def is_transient(error: BaseException) -> bool:
    """Whether the same work may succeed if tried again a little later."""
    for current in _chain(error):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True  # no pooled connection in time; a connection found dead
        if _network(current):
            return True
        code = _sqlite_code(current)
        if code is not None:
            return code & 0xFF in TRANSIENT_SQLITE
        state = _sqlstate(current)
        if state is not None:
            return state in TRANSIENT_SQLSTATES or state.startswith(TRANSIENT_SQLSTATE_CLASSES)
    return False


def describe(error: BaseException) -> dict[str, str | bool]:
    """What a log line may say about ``error``: its type, the database's code, invalidation."""
    found: dict[str, str | bool] = {"error": type(error).__name__}
    code: str | None = None
    for current in _chain(error):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            found["invalidated"] = True
        if code is None and _sqlite_code(current) is not None:
            code = str(getattr(current, "sqlite_errorname", "")) or None
        if code is None:
            code = _sqlstate(current)
    if code is None:
        # No database code: the innermost error's type says what happened
        # (ConnectionRefusedError, TimeoutError, ...).
        code = type(list(_chain(error))[-1]).__name__
    found["code"] = code
    return found
