"""Engine and session factories for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite is tuned for a small bot that writes from one process:

* every connection gets ``journal_mode=WAL``, ``foreign_keys=ON``,
  ``busy_timeout=5000`` and ``synchronous=NORMAL``;
* SQLAlchemy, not the ``sqlite3`` module, starts transactions, and starts them
  with ``BEGIN IMMEDIATE``. A transaction takes the write lock when it begins, so a
  transaction that reads and then writes never fails with "database is locked"
  half-way through (SQLITE_BUSY_SNAPSHOT, which ``busy_timeout`` cannot wait out):
  writers queue up for at most ``busy_timeout`` instead. This is the recipe from
  the SQLAlchemy SQLite dialect documentation ("Enabling Non-Legacy SQLite
  Transactional Modes", the ``engine.sync_engine`` variant for aiosqlite).

  Read-only work may opt into a plain deferred ``BEGIN``, which never waits for
  the writer, with ``engine.execution_options(sqlite_begin="DEFERRED")``.

PostgreSQL gets a pre-pinged, recycled connection pool. A libpq-style
``options=-c name=value`` query parameter (for example
``?options=-csearch_path%3Dmy_schema``) and ``application_name`` become asyncpg
``server_settings``, and ``sslmode`` becomes asyncpg's ``ssl``.
"""

from __future__ import annotations

import shlex
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from storage import sqlite_inline

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine",
    "create_sessionmaker",
    "is_postgresql",
    "is_sqlite",
    "normalise_url",
]

#: Execution option naming the ``BEGIN`` variant used on SQLite ("IMMEDIATE" by
#: default, "DEFERRED" or "EXCLUSIVE" on request).
SQLITE_BEGIN_OPTION: Final = "sqlite_begin"
SQLITE_BUSY_TIMEOUT_MS: Final = 5000
_SQLITE_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

_SQLITE_DRIVERS: Final = frozenset({"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"})
_POSTGRES_DRIVERS: Final = frozenset(
    {
        "postgres",
        "postgresql",
        "postgresql+psycopg2",
        "postgresql+psycopg",
        "postgresql+psycopg2cffi",
        "postgresql+pg8000",
        "postgresql+asyncpg",
    }
)

APPLICATION_NAME: Final = "sangkien-bot"


def normalise_url(url: str | URL) -> str:
    """Return ``url`` with the async driver this project uses.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db`` and ``postgresql://…``
    (also ``postgres://…`` and the sync driver variants) becomes
    ``postgresql+asyncpg://…``. Anything else raises :class:`ValueError`.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    driver = parsed.drivername.lower()
    if driver in _SQLITE_DRIVERS:
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
        )
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url_or_engine: str | URL | AsyncEngine) -> bool:
    """True if the URL or engine is a SQLite one."""
    return _backend(url_or_engine) == "sqlite"


def is_postgresql(url_or_engine: str | URL | AsyncEngine) -> bool:
    """True if the URL or engine is a PostgreSQL one."""
    return _backend(url_or_engine) == "postgresql"


def _backend(url_or_engine: str | URL | AsyncEngine) -> str:
    if isinstance(url_or_engine, AsyncEngine):
        return url_or_engine.dialect.name
    parsed = make_url(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    return parsed.get_backend_name()


def create_engine(
    url: str | URL,
    *,
    echo: bool = False,
    pooled: bool = True,
    sqlite_foreign_keys: bool = True,
    sqlite_inline: bool = False,
) -> AsyncEngine:
    """Create an async engine for ``url`` (normalised with :func:`normalise_url`).

    ``pooled=False`` uses a :class:`~sqlalchemy.pool.NullPool` (one-off tools such
    as migrations). ``sqlite_foreign_keys=False`` leaves SQLite foreign keys off,
    which schema migrations need to rebuild tables (they check the keys afterwards).
    ``sqlite_inline=True`` runs a SQLite file's statements on the event loop's thread
    (:mod:`storage.sqlite_inline`): for the bot's many short transactions, not for
    long reads, which would hold up everything else the loop does meanwhile.
    """
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(
            parsed,
            echo=echo,
            pooled=pooled,
            foreign_keys=sqlite_foreign_keys,
            inline=sqlite_inline,
        )
    return _create_postgresql_engine(parsed, echo=echo, pooled=pooled)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory whose objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


# --------------------------------------------------------------------------- SQLite


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        if str(url.query.get("uri", "")).lower() not in {"true", "1"}:
            return Path(database)
        rest = database[len("file:") :].split("?", 1)[0]
        if not rest or rest == ":memory:" or "mode=memory" in database:
            return None
        return Path(rest)
    return Path(database)


def _ensure_wal(file: Path) -> None:
    """Put the database file in WAL mode (created if need be) before any pool opens.

    Switching a database to WAL needs it to itself: SQLite then answers "database
    is locked" at once instead of waiting ``busy_timeout``. That happens when two
    processes open a brand-new database together, so retry here, once per engine.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        conn = sqlite3.connect(file, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        finally:
            conn.close()
        time.sleep(0.05)


def _create_sqlite_engine(
    url: URL, *, echo: bool, pooled: bool, foreign_keys: bool, inline: bool
) -> AsyncEngine:
    file = _sqlite_file(url)
    if file is not None and not str(url.database).startswith("file:"):
        file.expanduser().parent.mkdir(parents=True, exist_ok=True)
        _ensure_wal(file.expanduser())

    # Statement values are people's words (idea texts, names): never in error text or logs.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if not pooled and file is not None:
        kwargs["poolclass"] = NullPool
    inline = inline and file is not None
    if inline:
        kwargs["async_creator"] = sqlite_inline.connector(
            str(url.database),
            busy_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            uri=str(url.query.get("uri", "")).lower() in {"true", "1"},
        )
    engine = _create_async_engine(url, **kwargs)
    # Inline, one attempt may hold up the event loop only briefly; the connection
    # waits out the rest of the busy timeout between attempts (storage/sqlite_inline.py).
    busy_ms = sqlite_inline.INLINE_BUSY_MS if inline else SQLITE_BUSY_TIMEOUT_MS

    pragmas = (
        f"PRAGMA busy_timeout={busy_ms}",
        f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}",
        "PRAGMA synchronous=NORMAL",
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module from issuing BEGIN (and from committing on its own
        # around DDL): SQLAlchemy's "begin" hook below issues BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
            # WAL is a property of the file and normally set already (_ensure_wal);
            # switching needs exclusive access, so only try when it is not.
            cursor.execute("PRAGMA journal_mode")
            row = cursor.fetchone()
            if row is None or str(row[0]).lower() not in {"wal", "memory"}:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_SQLITE_BEGIN_MODES)}")
        # On the driver's connection, not through exec_driver_sql: SQLAlchemy's
        # execution machinery cost more than the statement, on every transaction.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(f"BEGIN {mode}")
        finally:
            cursor.close()

    return engine


# ----------------------------------------------------------------------- PostgreSQL


def _parse_pg_options(options: str) -> dict[str, str]:
    """Parse libpq ``options`` ("-c a=b -c c=d", "-ca=b", "--a=b") into settings."""
    settings: dict[str, str] = {}
    tokens = shlex.split(options)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "-c" and i + 1 < len(tokens):
            assignment = tokens[i + 1]
            i += 2
        elif token.startswith("-c") or token.startswith("--"):
            assignment = token[2:]
            i += 1
        else:
            raise ValueError(f"cannot understand PostgreSQL options {options!r}")
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"cannot understand PostgreSQL options {options!r}")
        settings[name.strip().replace("-", "_")] = value
    return settings


def _query_value(value: str | tuple[str, ...]) -> str:
    return value if isinstance(value, str) else value[-1]


def _create_postgresql_engine(url: URL, *, echo: bool, pooled: bool) -> AsyncEngine:
    query = dict(url.query)
    server_settings: dict[str, str] = {"application_name": APPLICATION_NAME}
    connect_args: dict[str, Any] = {}
    if "options" in query:
        server_settings.update(_parse_pg_options(_query_value(query.pop("options"))))
    if "application_name" in query:
        server_settings["application_name"] = _query_value(query.pop("application_name"))
    if "sslmode" in query:
        connect_args["ssl"] = _query_value(query.pop("sslmode"))
    connect_args["server_settings"] = server_settings
    url = url.set(query=query)

    kwargs: dict[str, Any] = {"echo": echo, "connect_args": connect_args, "hide_parameters": True}
    if pooled:
        kwargs.update(
            pool_size=10,
            max_overflow=10,
            pool_timeout=30,
            pool_recycle=1800,  # below typical firewall / pgbouncer idle cut-offs
            pool_pre_ping=True,  # a restarted server costs one ping, not a failed update
        )
    else:
        kwargs["poolclass"] = NullPool
    return _create_async_engine(url, **kwargs)
