"""Backups of the database while it is being served, and restores, checked both ways.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the whole file
in one step, inside one read transaction: a consistent copy of what was committed
when it began, while the service keeps writing (in WAL mode readers never block
writers). The copy is switched to a single self-contained file (no ``-wal``), passes
``PRAGMA integrity_check`` and only then replaces ``FILE``. A restore copies a backup
*into* the database through the same API, so a process that still has it open sees
the restored data rather than a file swapped under it.

PostgreSQL: ``pg_dump --format=custom`` (the connection's password goes through the
environment, never the command line) and ``pg_restore --list`` to check the file;
a restore is ``pg_restore --clean --if-exists --single-transaction``.

Both leave out which processes are serving (``serving_processes``): a restored
database is served by whoever serves it next. Everything here blocks: callers run it
off the event loop (``backup_async``, ``restore_async``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from pmd_domain.db.engine import SQLITE_BUSY_TIMEOUT_MS
from pmd_domain.db.migrate import known_revisions, upgrade

PRESENCE_TABLE = "serving_processes"


class BackupError(Exception):
    """A backup or restore could not be made; the message says why (in Spanish)."""


@dataclass(frozen=True)
class BackupFile:
    """What a checked backup holds."""

    path: Path
    size: int
    revision: str
    tables: int


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite database."""
    return url.startswith("sqlite")


def backup(url: str, target: Path) -> BackupFile:
    """Copy the database at ``url`` to ``target`` (replaced only once the copy checks out)."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        # Every citizen's data: readable by its owner only, like the database (0600).
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        if is_sqlite(url):
            try:
                _sqlite_backup(_sqlite_path(url), partial)
            except sqlite3.Error as exc:  # a place SQLite cannot write to (/proc, a full disk)
                raise BackupError(
                    f"No se pudo escribir el respaldo en {target} ({type(exc).__name__})."
                ) from None
            checked = check_sqlite(partial)
        else:
            _pg("pg_dump", url, "--format=custom", "--no-owner",
                f"--exclude-table-data={PRESENCE_TABLE}", f"--file={partial}")  # fmt: skip
            checked = check_pg(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(target, target.stat().st_size, checked.revision, checked.tables)


def restore(url: str, source: Path) -> BackupFile:
    """Replace the database at ``url`` with the backup ``source``, then migrate it forward.

    The caller decides whether the database may be overwritten (see ``serving``).
    """
    if source.is_dir():
        raise BackupError(f"{source} es una carpeta, no un respaldo.")
    if not source.is_file():
        raise BackupError(f"No existe el archivo {source}.")
    if is_sqlite(url):
        checked = _known(check_sqlite(source))
        upgrade(url)  # creates the file when there is none
        _sqlite_restore(source, _sqlite_path(url))
    else:
        checked = _known(check_pg(source))
        _pg("pg_restore", url, "--clean", "--if-exists", "--no-owner", "--single-transaction",
            "--exit-on-error", str(source), database_flag=True)  # fmt: skip
    upgrade(url)  # a backup of an older version gets the newer migrations
    return checked


def _known(checked: BackupFile) -> BackupFile:
    """Refuse, before anything is replaced, a backup of a version this one does not know
    (a newer release's): once restored, no command could open the database."""
    if checked.revision not in known_revisions():
        raise BackupError(
            f"{checked.path} es un respaldo de una versión de Participa PMD que esta no "
            f"conoce (versión {checked.revision}): restáuralo con esa versión o una posterior."
        )
    return checked


async def backup_async(url: str, target: Path) -> BackupFile:
    """``backup`` in a worker thread."""
    return await asyncio.to_thread(backup, url, target)


async def restore_async(url: str, source: Path) -> BackupFile:
    """``restore`` in a worker thread."""
    return await asyncio.to_thread(restore, url, source)


# ---------------------------------------------------------------------------- SQLite
def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Solo se respaldan bases de datos SQLite guardadas en un archivo.")
    return Path(database)


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        yield connection
    finally:
        connection.close()


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"No existe la base de datos {source}.")
    with _connect(source) as live, _connect(target) as copy:
        live.backup(copy)  # one step: one read transaction, a consistent copy
        copy.execute(f"DELETE FROM {PRESENCE_TABLE}")  # noqa: S608 - a constant
        copy.commit()
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    _fsync(target)


def _sqlite_restore(source: Path, target: Path) -> None:
    with _connect(source) as backup_copy, _connect(target) as live:
        backup_copy.backup(live)


def check_sqlite(path: Path) -> BackupFile:
    """Refuse a file that is not a sound SQLite database of this service."""
    try:
        with _connect(path) as connection:
            [(verdict,)] = connection.execute("PRAGMA integrity_check").fetchall()
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} no es un respaldo válido ({type(exc).__name__}).") from None
    if verdict != "ok" or revision is None:
        raise BackupError(f"{path} no es un respaldo válido (integrity_check: {verdict}).")
    return BackupFile(path, path.stat().st_size, str(revision[0]), int(tables[0]))


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


# ---------------------------------------------------------------------------- PostgreSQL
def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        found = str(candidates[-1]) if candidates else None
    if found is None:
        raise BackupError(f"Falta {name}: instala el cliente de PostgreSQL (postgresql-client).")
    return found


def _pg(tool: str, url: str, *args: str, database_flag: bool = False) -> str:
    """Run a PostgreSQL client tool on the database at ``url``; its output."""
    parsed = make_url(url)
    env = {
        **os.environ,
        "PGHOST": parsed.host or "localhost",
        "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "postgres",
        "PGDATABASE": parsed.database or "postgres",
    }
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    command = [_tool(tool), *args]
    if database_flag:
        command.append(f"--dbname={env['PGDATABASE']}")
    # A list of arguments, no shell: the URL's parts go through the environment.
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["sin detalle"])[-1]
        raise BackupError(f"{tool} falló: {last[:300]}")
    return result.stdout


def check_pg(path: Path) -> BackupFile:
    """Refuse a file that ``pg_restore --list`` cannot read or that lacks this service's tables."""
    try:
        listing = _pg("pg_restore", "postgresql://localhost/postgres", "--list", str(path))
    except BackupError as exc:
        raise BackupError(f"{path} no es un respaldo válido de PostgreSQL ({exc}).") from None
    tables = [line for line in listing.splitlines() if " TABLE public " in line]
    if not any(" alembic_version " in line for line in tables):
        raise BackupError(f"{path} no es un respaldo de Participa PMD (falta alembic_version).")
    data = _pg("pg_restore", "postgresql://localhost/postgres", "--data-only",
               "--table=alembic_version", "--file=-", str(path)).splitlines()  # fmt: skip
    copy = next((i for i, line in enumerate(data) if line.startswith("COPY ")), None)
    revision = data[copy + 1] if copy is not None and copy + 1 < len(data) else "?"
    return BackupFile(path, path.stat().st_size, revision, len(tables))
