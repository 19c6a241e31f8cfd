"""Which database failures pass (a step is retried) and what the logs say about them.

Every error here is a real one, raised by a real SQLite file or PostgreSQL server.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pmd_domain.db import Database
from pmd_domain.db.faults import describe, is_transient
from tests.pg import free_port

SECRET = "Ana Pérez, calle Allende 12"


async def _error_of(
    database: Database, *statements: str, params: dict[str, str] | None = None
) -> Exception:
    try:
        async with database.transaction() as session:
            for statement in statements:
                await session.execute(text(statement), params or {})
    except Exception as error:
        return error
    raise AssertionError("no error")


async def test_a_full_sqlite_file_is_transient_and_named(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE notes (body BLOB)"))
        pages = (await _count_pages(database)) + 1
        error = await _error_of(
            database,
            f"PRAGMA max_page_count={pages}",
            "INSERT INTO notes SELECT randomblob(100000)",
        )
    finally:
        await database.dispose()
    assert is_transient(error)
    assert describe(error) == {"error": "OperationalError", "code": "SQLITE_FULL"}


async def _count_pages(database: Database) -> int:
    async with database.reading() as session:
        return int((await session.execute(text("PRAGMA page_count"))).scalar_one())


def test_a_locked_sqlite_file_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    with (
        closing(sqlite3.connect(path, isolation_level=None)) as holder,
        closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other,
    ):
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
    assert is_transient(caught.value)
    assert describe(caught.value)["code"] == "SQLITE_BUSY"


async def test_mistakes_and_constraint_violations_are_not_transient(db: Database) -> None:
    mistake = await _error_of(db, "SELECT * FROM no_such_table")
    assert not is_transient(mistake)
    assert describe(mistake)["code"] == ("SQLITE_ERROR" if db.is_sqlite else "42P01")
    duplicate = await _a_duplicate_of_the_secret(db)
    assert not is_transient(duplicate)
    described = describe(duplicate)
    assert described["code"] in ("SQLITE_CONSTRAINT_UNIQUE", "23505")
    # What the logs get names the fault, never the statement's parameters.
    assert SECRET not in repr(described)


async def _a_duplicate_of_the_secret(db: Database) -> Exception:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE uniq (v VARCHAR(100) UNIQUE)"))
    return await _error_of(
        db,
        "INSERT INTO uniq (v) VALUES (:v)",
        "INSERT INTO uniq (v) VALUES (:v)",
        params={"v": SECRET},
    )


async def test_the_parameters_never_reach_the_error_message(db: Database) -> None:
    """The engines hide parameters, so even str(error) cannot leak a citizen's text."""
    duplicate = await _a_duplicate_of_the_secret(db)
    assert SECRET not in str(duplicate)


async def test_a_refused_postgresql_connection_is_transient() -> None:
    database = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        error = await _error_of(database, "SELECT 1")
    finally:
        await database.dispose()
    assert is_transient(error)
    assert describe(error) == {"error": "ConnectionRefusedError", "code": "ConnectionRefusedError"}


@pytest.mark.postgres
async def test_a_postgresql_connection_cut_mid_transaction_is_transient(
    postgres_url: str,
) -> None:
    import asyncpg

    database = Database(postgres_url)
    name = make_url(postgres_url).database

    async def cut_midway() -> None:
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            killer = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
            try:
                await killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = $1",
                    name,
                )
            finally:
                await killer.close()
            await session.execute(text("SELECT 2"))

    try:
        with pytest.raises(Exception) as caught:
            await cut_midway()
    finally:
        await database.dispose()
    assert is_transient(caught.value)
    assert describe(caught.value)["invalidated"] is True


@pytest.mark.postgres
async def test_a_postgresql_timeout_is_transient_and_carries_its_sqlstate(
    postgres_url: str,
) -> None:
    database = Database(postgres_url)
    try:
        error = await _error_of(database, "SET LOCAL statement_timeout = 10", "SELECT pg_sleep(1)")
    finally:
        await database.dispose()
    assert is_transient(error)
    assert describe(error)["code"] == "57014"


def test_other_errors_are_not_database_faults() -> None:
    assert not is_transient(ValueError("no"))
    assert not is_transient(FileNotFoundError("coat-of-arms.png"))
    assert is_transient(TimeoutError())
    assert is_transient(ConnectionResetError())
