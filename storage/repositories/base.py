"""What every repository shares: the unit of work's session, the dialect's upsert, and a
short way for the fixed statements every update runs: on the bot's inline SQLite they go
straight to ``sqlite3`` (:meth:`Repository._write`, :meth:`Repository._read`), skipping
SQLAlchemy's execution and loading, which cost several times the statement
(docs/STORAGE.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.util import greenlet_spawn

from storage import sqlite_inline

#: ``session.info`` key of the unit of work's TransactionMemo (storage.uow).
MEMO_KEY: Final = "uow-memo"
#: ``session.info`` key of the transaction's inline driver (Repository._driver).
_DRIVER_KEY: Final = "inline-driver"


class Written(NamedTuple):
    """What a fixed statement did: rows it wrote, and its RETURNING row's first value."""

    rowcount: int
    returned: Any


#: More compiled fixed statements than the repositories have means one is built per call.
FIXED_STATEMENTS_MAX: Final = 500
# Keyed by the statement itself (hashed by identity, and kept alive here: an id could be
# reused by another statement once the first is gone).
_compiled: dict[
    tuple[UpdateBase | Select[*tuple[Any, ...]], str, tuple[str, ...]], SQLCompiler
] = {}
# A fixed SELECT's compiled form and its columns' result processors, per dialect.
_readers: dict[
    tuple[Select[*tuple[Any, ...]], str],
    tuple[SQLCompiler, list[Callable[[Any], Any] | None]],
] = {}

E = TypeVar("E")
_attributes: dict[type[Any], tuple[str, ...]] = {}
# Each class's row by its primary key, for Repository._get.
_by_key: dict[type[Any], FixedSelect] = {}


def _compile(
    statement: UpdateBase | Select[*tuple[Any, ...]], dialect: Dialect, keys: tuple[str, ...]
) -> SQLCompiler:
    key = (statement, dialect.name, keys)
    compiled = _compiled.get(key)
    if compiled is None:
        if len(_compiled) >= FIXED_STATEMENTS_MAX:
            # Each is kept for good: a statement built anew for each call would grow this
            # without end. Such a statement goes through session.execute instead.
            raise RuntimeError("Repository._write and _read take module-level statements")
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        _compiled[key] = compiled
    return compiled


class _Param(NamedTuple):
    """How one positional parameter of a compiled statement gets its value."""

    name: str
    processor: Callable[[Any], Any] | None
    expanding: bool
    default: Any  # if the caller gives none: its bound value, or its column's scalar default


def _column_defaults(compiled: SQLCompiler) -> dict[str, Any]:
    """The values SQLAlchemy's execution would compute before running the statement for the
    columns it writes that the caller did not give: their scalar ``default`` (an INSERT) or
    ``onupdate`` (an UPDATE), by parameter name. A callable or SQL default is refused: a
    fixed statement cannot run it."""
    found: dict[str, Any] = {}
    for columns, attribute in ((compiled.insert_prefetch, "default"),
                               (compiled.update_prefetch, "onupdate")):  # fmt: skip
        for column in columns:
            default = getattr(column, attribute)
            if not isinstance(default, ScalarElementColumnDefault):
                raise ValueError(f"{column}: only a scalar {attribute} can be filled in")
            found[column.key] = default.arg
    return found


# Each compiled statement's parameters (the statements are kept in _compiled, so their ids
# stay theirs).
_params: dict[int, tuple[_Param, ...]] = {}


def _statement(compiled: SQLCompiler, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """A compiled statement's SQL and positional values, converted as its execution would:
    each named parameter from ``params``, the others their column's scalar default (a column
    the caller left out) or their bound value (a dialect's own, such as SQLite's
    ``OFFSET 0``); an expanding parameter (``IN``) a placeholder for each of its values (at
    least one)."""
    plan = _params.get(id(compiled))
    if plan is None:
        processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
        defaults = _column_defaults(compiled)
        plan = _params[id(compiled)] = tuple(
            _Param(
                name,
                processors.get(name),
                bind.expanding,
                defaults.get(name, bind.effective_value),
            )
            for name in compiled.positiontup or ()
            for bind in (compiled.binds[name],)
        )
    sql = compiled.string
    values: list[Any] = []
    for name, processor, expanding, default in plan:
        value = params.get(name, default)
        if expanding:
            items = list(value)
            if not items:
                raise ValueError(f"{name}: an IN of no values")
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(items)), 1)
            values += [processor(v) for v in items] if processor is not None else items
        else:
            values.append(processor(value) if processor is not None else value)
    return sql, values


def columns_of(cls: type[Any]) -> list[ColumnElement[Any]]:
    """A mapped class's table columns, in order: its whole row in a fixed SELECT that
    :meth:`Repository._objects` turns into the session's objects."""
    return list(cast(Table, inspect(cls).local_table).c)


def attribute_names(cls: type[Any]) -> tuple[str, ...]:
    """The attributes a mapped class keeps its table's columns in, in the table's order
    (as ``select(*table.c)`` reads them)."""
    names = _attributes.get(cls)
    if names is None:
        mapper = inspect(cls)
        table = cast(Table, mapper.local_table)
        names = tuple(mapper.get_property_by_column(column).key for column in table.c)
        _attributes[cls] = names
    return names


def new_instance(cls: type[E]) -> E:
    """An instance of a mapped class made as a query's loading makes one: no ``__init__``, nor
    the change tracking of each attribute set (its values go into ``__dict__``). The mappers
    are configured first, as ``__init__`` would have them (0.1 µs once they are)."""
    inspect(cls).registry.configure()
    obj: E = manager_of_class(cls).new_instance()
    return obj


class FixedSelect(NamedTuple):
    """One fixed SELECT of whole rows of mapped classes (then any plain columns), in two
    forms: of the tables' columns, read straight through ``sqlite3`` on the inline engine
    and made into the session's objects (:meth:`Repository._load`); and of the classes
    themselves, for the ORM's own loading anywhere else."""

    direct: Select[*tuple[Any, ...]]
    orm: Select[*tuple[Any, ...]]
    classes: tuple[type[Any], ...]


def fixed_select(
    build: Callable[..., Select[*tuple[Any, ...]]], classes: Sequence[type[Any]], *columns: Any
) -> FixedSelect:
    """``build(*what)`` (the query, what it selects left open) selecting ``classes`` and
    then ``columns``: once with each class's table columns, once with the classes."""
    direct = build(*(column for cls in classes for column in columns_of(cls)), *columns)
    return FixedSelect(direct, build(*classes, *columns), tuple(classes))


def _connection_and_driver(session: Session) -> tuple[Connection, Any]:
    connection = session.connection()
    return connection, connection.connection.driver_connection


class Repository:
    """Queries and writes in the caller's session; never commits (storage.uow does)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _driver(self) -> tuple[sqlite_inline.Connection | None, Dialect]:
        """The transaction's ``sqlite3`` connection on the bot's inline SQLite (None on any
        other engine), and the dialect; the transaction begun if it was not yet. Looked up
        once a transaction: each lookup is two trips through SQLAlchemy's greenlet."""
        sync = self.session.sync_session
        found = sync.info.get(_DRIVER_KEY)
        if found is not None and found[0] is sync.get_transaction():
            return found[1], found[2]
        # The transaction's connection, begun if it was not, and its driver's connection
        # (checked out by then, so reading it does no I/O) in one trip.
        connection, raw = await greenlet_spawn(_connection_and_driver, sync)
        driver = raw if isinstance(raw, sqlite_inline.Connection) else None
        sync.info[_DRIVER_KEY] = (sync.get_transaction(), driver, connection.dialect)
        return driver, connection.dialect

    def _insert(self) -> Any:
        """The dialect's INSERT, the one with ON CONFLICT."""
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def _write(self, statement: UpdateBase, params: dict[str, Any]) -> Written:
        """Run one of the fixed writes of every update or poll (an INSERT of its update id,
        its conversation, its replies, a new idea; the inbox's DELETE) in the session's
        transaction.

        On the bot's inline SQLite the statement, compiled once per set of parameter names,
        goes straight to ``sqlite3`` with its values converted by SQLAlchemy's own bind
        processors, and a column left out takes its scalar default as it would:
        SQLAlchemy's execution machinery cost several times the statement
        (docs/BENCHMARKS.md, "Cost per update"). Anywhere else it runs as usual. The
        statement must be one that takes no ORM state into account: a Core statement whose
        rows refer only to rows already flushed.
        """
        driver, dialect = await self._driver()
        returning = bool(statement._returning)  # Core's own attribute
        if driver is None:
            result = await self.session.execute(statement, params)
            returned = result.scalar_one() if returning else None
            return Written(getattr(result, "rowcount", 0), returned)
        compiled = _compile(statement, dialect, tuple(params))
        cursor = await driver.execute_plain(*_statement(compiled, params))
        try:
            row = cursor.fetchone() if returning else None
            written = Written(cursor.rowcount, row[0] if row is not None else None)
        finally:
            cursor.close()
        self._wrote(statement)
        return written

    async def _write_many(self, statement: UpdateBase, rows: Sequence[dict[str, Any]]) -> int:
        """:meth:`_write` for many rows of parameters, each with the same names, in one
        executemany (``sqlite3``'s own on the inline SQLite); the rows written."""
        if not rows:
            return 0
        driver, dialect = await self._driver()
        if driver is None:
            result = await self.session.execute(statement, list(rows))
            return int(getattr(result, "rowcount", 0))
        compiled = _compile(statement, dialect, tuple(rows[0]))
        sql, first = _statement(compiled, rows[0])
        values = [first]
        for row in rows[1:]:
            same, row_values = _statement(compiled, row)
            if same != sql:  # an IN of another length: another SQL text
                raise ValueError("Repository._write_many: every row's IN must be as long")
            values.append(row_values)
        cursor = await driver.executemany_plain(sql, values)
        try:
            written: int = cursor.rowcount
        finally:
            cursor.close()
        self._wrote(statement)
        return written

    def _wrote(self, statement: UpdateBase) -> None:
        """Tell the transaction's memo (storage.uow) that ``statement``'s table changed."""
        memo = self.session.sync_session.info.get(MEMO_KEY)
        table = statement.table
        if memo is not None:
            memo.written({table.name} if isinstance(table, Table) else None)

    async def _read(
        self, statement: Select[*tuple[Any, ...]], params: dict[str, Any]
    ) -> list[tuple[Any, ...]] | None:
        """The rows of one of the fixed SELECTs every update makes, as plain tuples of
        Python values, read straight through ``sqlite3`` on the bot's inline SQLite (as
        :meth:`_write` does for INSERTs); None anywhere else, where the caller runs it as
        usual. ``statement`` selects table columns only (no ORM entities), with every value
        a named ``bindparam`` given in ``params``. Changes made through the ORM and not
        flushed yet are flushed first, as a query's autoflush would."""
        driver, dialect = await self._driver()
        if driver is None:
            return None
        sync = self.session.sync_session
        if sync.new or sync.dirty or sync.deleted:
            await self.session.flush()
        reader = _readers.get((statement, dialect.name))
        if reader is None:
            compiled = _compile(statement, dialect, ())
            processors: list[Callable[[Any], Any] | None] = [
                column.type._cached_result_processor(dialect, None)
                for column in statement.selected_columns
            ]
            reader = _readers[(statement, dialect.name)] = (compiled, processors)
        compiled, row_processors = reader
        cursor = await driver.execute_plain(*_statement(compiled, params))
        try:
            raw: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        converting = [(i, p) for i, p in enumerate(row_processors) if p is not None]
        if not converting:  # sqlite3's values are already SQLAlchemy's
            return raw
        rows = []
        for row in raw:
            values = list(row)
            for i, processor in converting:
                if values[i] is not None:
                    values[i] = processor(values[i])
            rows.append(tuple(values))
        return rows

    async def _get(self, cls: type[E], key: int) -> E | None:
        """``session.get(cls, key)`` for a class with a one-column primary key: the object
        the session holds, else its row read through :meth:`_load` (straight through
        ``sqlite3`` on the inline SQLite, where SQLAlchemy's loading cost several times the
        read)."""
        mapper = inspect(cls)
        if self.session.sync_session.identity_map.get(mapper.identity_key_from_primary_key([key])):
            return await self.session.get(cls, key)
        fixed = _by_key.get(cls)
        if fixed is None:
            (column,) = mapper.primary_key
            fixed = _by_key[cls] = fixed_select(
                lambda *what: select(*what).where(column == bindparam("key")), (cls,)
            )
        rows = await self._load(fixed, {"key": key})
        return cast(E, rows[0][0]) if rows else None

    async def _load(
        self, fixed: FixedSelect | Select[*tuple[Any, ...]], params: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of ``fixed`` as the session's objects (then the plain values), read
        directly on the inline SQLite, through the ORM elsewhere; a plain SELECT of columns
        (values as named ``bindparam`` parameters) the same way, its rows as tuples."""
        if not isinstance(fixed, FixedSelect):
            fixed = FixedSelect(fixed, fixed, ())
        found = await self._objects(fixed.direct, params, fixed.classes)
        if found is None:
            found = [tuple(row) for row in await self.session.execute(fixed.orm, params)]
        return found

    async def _objects(
        self,
        statement: Select[*tuple[Any, ...]],
        params: dict[str, Any],
        classes: Sequence[type[Any]],
    ) -> list[tuple[Any, ...]] | None:
        """:meth:`_read` of a SELECT of whole rows of ``classes`` (each table's columns in
        order, as :func:`columns_of` lists them) and then any plain columns: each row as the
        session's objects followed by the plain values; None off the inline SQLite."""
        rows = await self._read(statement, params)
        if rows is None or not classes:
            return rows
        layout = [(cls, attribute_names(cls)) for cls in classes]
        result = []
        for row in rows:
            start, found = 0, []
            for cls, names in layout:
                end = start + len(names)
                found.append(self._attached(cls, dict(zip(names, row[start:end], strict=True))))
                start = end
            result.append((*found, *row[start:]))
        return result

    def _attached(self, cls: type[E], values: Mapping[str, Any]) -> E:
        """The session's object for a row read by :meth:`_read`, as a query's loading gives
        it: the one the session holds already (what it holds unchanged, what it held
        unloaded filled in), else one made from ``values`` (every column attribute, by name)
        and attached as loaded, with nothing to write back."""
        mapper = inspect(cls)
        key = mapper.identity_key_from_primary_key(
            [values[mapper.get_property_by_column(column).key] for column in mapper.primary_key]
        )
        existing = self.session.sync_session.identity_map.get(key)
        if existing is not None:
            # As a query's loading does: what the object holds stays, what it does not
            # (expired, say a server default after its INSERT) is filled in from the row.
            for name in inspect(existing).unloaded & values.keys():
                set_committed_value(existing, name, values[name])
            return cast(E, existing)
        # As a query's loading makes it: no __init__ (nor the change tracking of each
        # attribute set), the row's values put in place, then marked as loaded.
        obj = new_instance(cls)
        obj.__dict__.update(values)
        self._adopt(obj)
        return obj

    def _adopt(self, obj: object) -> None:
        """Make a transient object whose ``__dict__`` holds its whole row as stored (its
        primary key included) the session's, as loaded: nothing to write back."""
        make_transient_to_detached(obj)
        self.session.sync_session.add(obj)
