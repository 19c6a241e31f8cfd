"""``INSERT ... ON CONFLICT DO NOTHING`` for both databases.

SQLAlchemy spells it per dialect (``sqlite.insert`` and ``postgresql.insert``); the
services that rely on a unique constraint pick theirs here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# The insert constructs that have ``on_conflict_do_nothing``, by dialect name.
INSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def dialect_of(session: AsyncSession) -> str:
    """The name of the database behind ``session`` ("sqlite" when it has no bind)."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT into ``table`` (a model or a table) that can ignore conflicts."""
    return INSERTS[dialect_of(session)](table)
