"""A statement run on the SQLite writer's cursor (``prepared``) does what SQLAlchemy's run does.

Same SQL, same stored values (a datetime written the way SQLAlchemy writes it, JSON
as JSON), same rows back (aware datetimes, decoded JSON), the same exceptions; and
what it cannot reproduce exactly is left to ``Connection.execute``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import assume, given
from hypothesis.strategies import datetimes, timezones
from sqlalchemy import Connection, Table, bindparam, event, exc, insert, select, text, update
from sqlalchemy.dialects import sqlite

from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Moment, Participant, ProcessedUpdate
from pmd_domain.db.prepared import prepared
from pmd_domain.db.statements import execute

STATES = cast(Table, ConversationState.__table__)
PARTICIPANTS = cast(Table, Participant.__table__)
PROCESSED = cast(Table, ProcessedUpdate.__table__)
MOMENT = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)

# Built once, as the step's statements are.
_ADD_PARTICIPANT = insert(PARTICIPANTS).returning(PARTICIPANTS.c.id, PARTICIPANTS.c.consent_at)
_ADD_STATE = insert(STATES)
_STATE_OF = select(STATES.c.state, STATES.c.data, STATES.c.updated_at).where(
    STATES.c.participant_id == bindparam("who")
)
_BUMP_VERSION = (
    update(STATES)
    .where(STATES.c.participant_id == bindparam("who"), STATES.c.state == "start")
    .values(version=STATES.c.version + 1)
)
_PROCESSED = insert(PROCESSED)
_COUNT = text("SELECT count(*) FROM processed_updates WHERE channel = :channel")


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> Any:
    database = Database(sqlite_url)
    yield database
    await database.dispose()


def _participant(external_id: str) -> dict[str, Any]:
    return {
        "channel": "telegram",
        "external_id": external_id,
        "consent_at": MOMENT,
        "notice_version": "1",
        "assurance": "phone",
        "created_at": MOMENT,
        "language": "es",
        "muted": False,
        "reachable": True,
        "supports_given": 0,
        "proposals_made": 0,
    }


async def _writer(database: Database) -> Connection:
    async with database.transaction() as session:
        bind = session.sync_session.bind
        assert isinstance(bind, Connection)
        return bind


async def test_rows_and_stored_values_are_sqlalchemy_s(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        bind = session.sync_session.bind
        assert isinstance(bind, Connection)
        assert prepared(_ADD_PARTICIPANT, bind, _participant("1")) is not None
        mine: Any = (await execute(session, _ADD_PARTICIPANT, _participant("1"))).first()
        theirs: Any = (await session.execute(_ADD_PARTICIPANT, _participant("2"))).first()
        assert mine.consent_at == theirs.consent_at == MOMENT
        assert mine.consent_at.tzinfo is not None and mine._mapping["id"] == mine.id
        for who, through in ((mine.id, execute), (theirs.id, None)):
            values = {
                "participant_id": who,
                "state": "start",
                "data": {"k": "gender", "m": [1, 2], "ñ": "sí"},
                "version": 0,
                "updated_at": MOMENT + timedelta(days=1),
            }
            if through is execute:
                await execute(session, _ADD_STATE, values)
            else:
                await session.execute(_ADD_STATE, values)
        # Stored alike, byte for byte: the text SQLite holds for the datetime and the JSON.
        stored = (
            await session.execute(
                text(
                    "SELECT participant_id, updated_at, data FROM conversation_states"
                    " ORDER BY participant_id"
                )
            )
        ).all()
        assert stored[0][1:] == stored[1][1:]
        assert stored[0][1] == "2026-03-05 05:06:07.000890"
        # Read back alike.
        read_mine: Any = (await execute(session, _STATE_OF, {"who": mine.id})).first()
        read_theirs: Any = (await session.execute(_STATE_OF, {"who": mine.id})).first()
        assert tuple(read_mine) == tuple(read_theirs)
        assert read_mine.data == {"k": "gender", "m": [1, 2], "ñ": "sí"}
        # An update counts its rows; a literal of the statement ("start") is its own.
        assert (await execute(session, _BUMP_VERSION, {"who": mine.id})).rowcount == 1
        assert (await execute(session, _BUMP_VERSION, {"who": 999})).rowcount == 0


async def test_many_rows_at_once_and_a_textual_statement(sqlite_db: Database) -> None:
    rows = [{"channel": "bench", "update_id": f"u{i}", "processed_at": MOMENT} for i in range(5)]
    async with sqlite_db.transaction() as session:
        await execute(session, _PROCESSED, rows)
        assert (await execute(session, _COUNT, {"channel": "bench"})).scalar() == 5
        assert (await execute(session, _COUNT, {"channel": "bench"})).scalar_one() == 5
        counted = (await execute(session, _COUNT, {"channel": "bench"})).one()
        assert counted._mapping == {"count(*)": 5}
        named = text("SELECT update_id AS id, channel FROM processed_updates ORDER BY update_id")
        first = (await execute(session, named)).first()
        assert (first.id, first.channel, first._mapping["id"]) == ("u0", "bench", "u0")
        everything = await execute(session, select(PROCESSED.c.update_id))
        assert sorted(row.update_id for row in everything) == [f"u{i}" for i in range(5)]
        with pytest.raises(exc.MultipleResultsFound):
            (await execute(session, select(PROCESSED.c.update_id))).one()
        nothing = select(PROCESSED.c.update_id).where(PROCESSED.c.channel == "none")
        assert (await execute(session, nothing)).scalar_one_or_none() is None
        with pytest.raises(exc.NoResultFound):
            (await execute(session, nothing)).one()


async def test_its_errors_are_sqlalchemy_s_and_the_transaction_is_undone(
    sqlite_db: Database,
) -> None:
    row = {"channel": "bench", "update_id": "same", "processed_at": MOMENT}

    async def twice() -> None:
        async with sqlite_db.transaction() as session:
            await execute(session, _PROCESSED, row)
            await execute(session, _PROCESSED, row)

    with pytest.raises(exc.IntegrityError):
        await twice()
    with pytest.raises(exc.InvalidRequestError):
        async with sqlite_db.transaction() as session:
            await execute(session, _STATE_OF, {})  # "who" is not given
    async with sqlite_db.transaction() as session:
        assert (await execute(session, _COUNT, {"channel": "bench"})).scalar() == 0


async def test_what_it_cannot_reproduce_goes_the_usual_way(sqlite_db: Database) -> None:
    bind = await _writer(sqlite_db)
    expanded = select(PROCESSED).where(PROCESSED.c.update_id.in_(["a", "b"]))
    assert prepared(expanded, bind, None) is None
    # A column default computed in Python (the state's version and data) left out.
    assert prepared(_ADD_STATE, bind, {"participant_id": 1, "state": "s"}) is None
    async with sqlite_db.transaction() as session:
        assert (await execute(session, expanded)).all() == []


async def test_the_engine_s_listeners_see_each_statement(sqlite_db: Database) -> None:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    assert sqlite_db.writer is not None
    event.listen(sqlite_db.writer, "before_cursor_execute", record)
    try:
        async with sqlite_db.transaction() as session:
            await execute(session, _COUNT, {"channel": "x"})
    finally:
        event.remove(sqlite_db.writer, "before_cursor_execute", record)
    assert any("count(*)" in statement for statement in seen)


async def test_the_step_s_kinds_of_statement_are_all_prepared(sqlite_db: Database) -> None:
    bind = await _writer(sqlite_db)
    state = {
        "participant_id": 1,
        "state": "s",
        "data": {},
        "version": 0,
        "updated_at": MOMENT,
    }
    processed = [{"channel": "c", "update_id": "u", "processed_at": MOMENT}]
    for statement, params in (
        (_ADD_PARTICIPANT, _participant("3")),
        (_ADD_STATE, state),
        (_STATE_OF, {"who": 1}),
        (_BUMP_VERSION, {"who": 1}),
        (_PROCESSED, processed),
        (_COUNT, {"channel": "c"}),
    ):
        assert prepared(statement, bind, params) is not None, statement


@given(moment=datetimes(timezones=timezones()))
def test_a_moment_is_stored_as_sqlalchemy_s_sqlite_datetime_writes_it(moment: datetime) -> None:
    """The column type's own SQLite text is SQLAlchemy's ``DATETIME`` text of the UTC value."""
    dialect = sqlite.dialect()
    ours = Moment.dialect_impl(dialect).bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assume(moment.tzinfo is not None and moment.utcoffset() is not None)
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # beyond year 1 or 9999 once in UTC
        return
    assert ours(moment) == theirs(in_utc)
    assert ours(None) is None
    with pytest.raises(ValueError):
        ours(moment.replace(tzinfo=None))
