"""The statements of every conversation step, run the cheapest way their database allows.

A step sends a handful of short Core statements (the processed update, the state, the
answer, the counters, the outbox row). Through ``AsyncSession.execute`` each one also
pays the ORM session's work (its execution options, events, autoflush and result
wrapping), about as much again as SQLAlchemy's own statement execution. On SQLite
the step's transaction runs on a synchronous connection driven on the event loop
(``sqlite_writer``), so ``execute`` sends such a statement straight to that
connection; on PostgreSQL (and in read sessions) it goes through the session as
before. The statement and its result are the same either way.

``execute`` does not flush the session's pending ORM changes first: it is for tables
the step does not also change through ORM objects in the same transaction (those
changes are flushed at the commit, after it).

``adopt`` turns a Core row holding every column of a model's table into that model's
object in the session, as a query would have loaded it, without a query and without
the ORM's loading work (the participant of the step, read with its state in one
statement, or returned by its registration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import instance_state

from pmd_domain.db.prepared import prepared

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


async def execute(session: AsyncSession, statement: Executable, params: Params = None) -> Any:
    """Run a Core ``statement`` in ``session``'s transaction (see the module docstring)."""
    bind = session.sync_session.bind
    if isinstance(bind, Connection):  # the SQLite writer's connection, on the loop
        fast = prepared(statement, bind, params)
        if fast is not None:
            return fast.run(bind, params)
        return bind.execute(statement, params)
    return await session.execute(statement, params)


def adopt(session: AsyncSession, model: type[T], row: Any) -> T:
    """The ``model`` object of ``row`` in ``session`` (the one it holds already, if any)."""
    mapper = inspect(model)
    values = row._mapping
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    sync = session.sync_session
    held = sync.identity_map.get(key)
    if held is not None:
        return held
    # As the ORM's own loading does (``loading._instance``): a new instance whose
    # attributes are filled in directly (no attribute events), given ``key``'s identity
    # and put in the session's identity map, persistent with nothing changed, so a
    # flush has nothing to write until the step changes something.
    instance = mapper.class_manager.new_instance()
    state = instance_state(instance)
    state.dict.update({a.key: values[a.columns[0].key] for a in mapper.column_attrs})
    state.key = key
    state.identity_token = key[2]
    state.session_id = sync.hash_key
    sync.identity_map._add_unpresent(state, key)
    return instance
