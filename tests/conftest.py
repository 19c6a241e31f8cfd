"""Shared fixtures: databases (SQLite and a real PostgreSQL), the open consultation."""

from __future__ import annotations

import os

# A developer's ``.env`` (``make run`` keeps its settings there) must not change what
# the tests see, here or in the processes they start: name one that does not exist.
os.environ["PMD_ENV_FILE"] = os.path.join(os.path.dirname(__file__), "no-such.env")

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from tests.factories import open_consultation
from tests.pg import PostgresServer, unavailable_reason

pytest_plugins = ["tests.botapi.fixtures", "tests.waapi.fixtures", "tests.browser"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_names = itertools.count(1)


def _new_postgres() -> PostgresServer:
    """A started PostgreSQL server; a skip (a failure in CI) where there can be none."""
    reason = unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"PostgreSQL not available: {reason}")
    return PostgresServer().start()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, with a migrated template database."""
    server = _new_postgres()
    run_async(server.create_database("pmd_template"))
    upgrade(server.url("pmd_template"))
    yield server
    server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, to stop, freeze and start again."""
    server = _new_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of a fresh, migrated SQLite database."""
    target = tmp_path / "pmd.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, migrated PostgreSQL database."""
    return str(
        run_async(
            postgres_server.create_database(f"pmd_test_{next(_names)}", template="pmd_template")
        )
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database of each kind: the domain tests run on both."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A Database handle on a fresh database of each kind."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def consultation() -> Consultation:
    """The default consultation, open now."""
    return open_consultation()


# A test that hangs shows where: shortly before pytest-timeout stops it, every asyncio
# task still waiting prints the line it waits on (pytest-timeout shows threads only).
HANG_REPORT_SECONDS = 240.0


@pytest.fixture(autouse=True)
def _report_a_hang() -> Iterator[None]:
    import gc
    import sys
    import threading

    def report() -> None:
        tasks = [t for t in gc.get_objects() if isinstance(t, asyncio.Task) and not t.done()]
        print(f"\n--- {len(tasks)} asyncio tasks still waiting ---", file=sys.stderr)
        for task in tasks:
            with_stack = task.get_stack(limit=12)
            print(f"{task.get_name()}:", file=sys.stderr)
            for frame in with_stack:
                code = frame.f_code
                print(f"    {code.co_filename}:{frame.f_lineno} {code.co_name}", file=sys.stderr)

    timer = threading.Timer(HANG_REPORT_SECONDS, report)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
