"""A step's Core statements compiled once and run on the SQLite writer's own cursor.

SQLAlchemy's ``Connection.execute`` does a good deal of work for every statement
besides SQLite's: it looks the compiled form up in its cache, builds an execution
context, runs the parameters through their types, wraps the cursor in a result and
the rows in ``Row`` objects. For the few statements of a conversation step that is
about four times SQLite's own time. Their SQL never changes, so ``Prepared`` does that
work once per statement (and per set of parameter names): it compiles the statement
for SQLite, keeps the SQL text, the order of its parameters and the type conversions
of the parameters and of the result columns, and from then on hands the parameters
straight to the pysqlite cursor of the connection the transaction holds.

It is only for what it reproduces exactly, and declines everything else (the caller
then uses ``Connection.execute``): a statement with an ``IN`` list expanded at run
time, a value rendered into the SQL, or a column default that Python computes. The
errors are SQLAlchemy's (``IntegrityError``, ``OperationalError``...), and the
engine's ``before_cursor_execute`` listeners see the statement, as they would.
"""

from __future__ import annotations

import operator
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, exc
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.sql.elements import TextClause, _anonymous_label

Processor = Callable[[Any], Any] | None
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

# Statements compiled so far, by the statement's identity and its parameters' names
# (the statement kept, so that its identity is not reused). The step's statements are
# built once at import; a statement built per call is not worth compiling again.
_KEPT = 256
_cache: dict[tuple[int, tuple[str, ...]], tuple[ClauseElement, Prepared | None]] = {}


_REQUIRED = object()  # a parameter the statement has no value of its own for


class _Declined(Exception):
    """This statement is left to ``Connection.execute``."""


class Result:
    """The few parts of a ``CursorResult`` a step reads."""

    __slots__ = ("_lastrowid", "_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None):
        self._rows = rows
        self.rowcount = rowcount
        self._lastrowid = lastrowid

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise exc.NoResultFound("No row was found when one was required")
        return row

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return row[0] if row is not None else None

    @property
    def inserted_primary_key(self) -> tuple[int | None]:
        return (self._lastrowid,)


def _row_type(keys: Sequence[str]) -> Any:
    """A tuple with the columns by name too, and ``_mapping`` as ``Row`` has it.

    A name that cannot be an attribute (``count(*)``) is only in ``_mapping``.
    """
    base = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
    names = tuple(keys)

    def mapping(row: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(names, row, strict=True))

    return type("Row", (base,), {"__slots__": (), "_mapping": property(mapping)})


class Prepared:
    """One statement compiled for SQLite (see the module docstring)."""

    def __init__(self, statement: ClauseElement, connection: Connection, keys: Sequence[str]):
        dialect = connection.dialect
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        binds = compiled.binds
        if (
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.literal_execute_params
            or compiled.post_compile_params
            or compiled.positiontup is None
        ):
            raise _Declined
        if compiled.escaped_bind_names:
            raise _Declined
        self.sql: str = compiled.string
        # Each parameter in order: the key it is given by, the value the statement
        # holds when it is not given (a literal of the statement), and its conversion.
        self._params: list[tuple[str, Any, Processor]] = []
        for name in compiled.positiontup:
            bind = binds[name]
            named = bind.key == name or isinstance(bind.key, _anonymous_label)
            if bind.callable is not None or not named:
                raise _Declined
            fixed = _REQUIRED if bind.required else bind.value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._params.append((name, fixed, process))
        self._keys = [name for name, _, _ in self._params]
        self._every: Callable[[Mapping[str, Any]], Any] | None = (
            operator.itemgetter(*self._keys) if self._keys else None
        )
        self._converted: list[tuple[int, Callable[[Any], Any]]] = [
            (index, process)
            for index, (_, _, process) in enumerate(self._params)
            if process is not None
        ]
        self._is_insert = isinstance(statement, Insert)
        self._returns = not isinstance(statement, UpdateBase) or bool(compiled.effective_returning)
        self._row: Any = None
        self._results: list[Processor] = []
        columns = list(getattr(statement, "exported_columns", ())) if self._returns else []
        if columns:
            names = [column.key for column in columns]
            if len(set(names)) != len(names):
                raise _Declined
            self._row = _row_type(names)
            self._results = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ]
        elif self._returns and not isinstance(statement, TextClause):
            raise _Declined  # rows whose columns it cannot name
        self._hide = connection.engine.hide_parameters
        self._text_rows: dict[tuple[str, ...], Any] = {}  # a textual query's rows, by names

    def _values(self, params: Mapping[str, Any] | None) -> tuple[Any, ...]:
        if params and self._every is not None:
            # The usual call gives every parameter: all read at once, then converted.
            try:
                found = self._every(params)
            except KeyError:
                pass
            else:
                every = [found] if len(self._keys) == 1 else list(found)
                for index, convert in self._converted:
                    every[index] = convert(every[index])
                return tuple(every)
        given = params or {}
        values = []
        for key, fixed, process in self._params:
            value = given.get(key, fixed)
            if value is _REQUIRED:
                raise exc.InvalidRequestError(f"A value is required for bind parameter {key!r}")
            values.append(value if process is None else process(value))
        return tuple(values)

    def run(self, connection: Connection, params: Params) -> Result:
        """Run it in ``connection``'s transaction, with one or many sets of parameters."""
        many = isinstance(params, list | tuple)
        values: Any = (
            [self._values(each) for each in cast(Sequence[Mapping[str, Any]], params)]
            if many
            else self._values(cast(Mapping[str, Any] | None, params))
        )
        raw: Any = connection.connection.driver_connection
        cursor = raw.cursor()
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, self.sql, values, None, many)
        try:
            if many:
                cursor.executemany(self.sql, values)
            else:
                cursor.execute(self.sql, values)
            described = cursor.description
            rows = cursor.fetchall() if described is not None else []
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                self.sql,
                values,
                error,
                sqlite3.Error,
                hide_parameters=self._hide,
                dialect=connection.dialect,
                ismulti=many,
            ) from error
        finally:
            lastrowid = cursor.lastrowid if self._is_insert else None
            rowcount = cursor.rowcount
            cursor.close()
        if self._row is None and rows:  # a textual query: its columns as SQLite names them
            names = tuple(column[0] for column in described)
            kind = self._text_rows.get(names)
            if kind is None:
                kind = self._text_rows[names] = _row_type(names)
            rows = [kind._make(row) for row in rows]
        elif self._row is not None and rows:
            make = self._row._make
            processors = self._results
            if any(processors):
                rows = [
                    make([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])
                    for row in rows
                ]
            else:
                rows = [make(row) for row in rows]
        return Result(rows, rowcount, lastrowid)


def prepared(statement: Any, connection: Connection, params: Params) -> Prepared | None:
    """The statement compiled for these parameters' names (``None``: run it the usual way)."""
    first = params[0] if isinstance(params, list | tuple) and params else params
    keys = tuple(first) if first else ()  # a mapping's keys
    key = (id(statement), keys)
    held = _cache.get(key)
    if held is not None and held[0] is statement:
        return held[1]
    if len(_cache) >= _KEPT:
        return None
    try:
        made: Prepared | None = Prepared(statement, connection, keys)
    except _Declined:
        made = None
    _cache[key] = (statement, made)
    return made
