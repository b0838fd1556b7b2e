"""SQLite on the event loop's own thread: the aiosqlite interface without its thread.

aiosqlite runs every call (cursor, execute, fetch, close: about five per statement) on a
worker thread and wakes the event loop for each answer. For the bot's short
transactions that hand-over costs more than SQLite's work: a queue put that passes the
GIL to the worker, a self-pipe write and a trip round the event loop for each call
(``docs/BENCHMARKS.md``, "Throughput"). This module gives SQLAlchemy's aiosqlite dialect
an object with aiosqlite's interface whose calls run ``sqlite3`` directly.

What it must not do is block the event loop on a lock another process holds. The
connection's busy timeout is kept short (:data:`INLINE_BUSY_MS`); a statement that
still finds the database locked is retried after an asynchronous pause, up to the
engine's whole busy timeout, as SQLite's own busy handler would have. Only statements
that can safely run again after SQLITE_BUSY are retried: SQLite leaves a statement that
returned it without effect (and an open transaction still open after a busy COMMIT).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

#: How long one attempt may block the event loop waiting for another process's lock.
INLINE_BUSY_MS = 20
RETRY_PAUSE_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1)


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ) or ("database is locked" in str(exc))


class _Immediately:
    """Stands in for aiosqlite's request queue (SQLAlchemy's dialect puts the
    isolation-level change on it): runs the function at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to whoever awaits the future
            future.set_exception(exc)


class Cursor:
    """aiosqlite's cursor interface over a ``sqlite3.Cursor``."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._connection.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)
        await self._connection.run(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """aiosqlite's connection interface over a ``sqlite3.Connection``, used in place."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Immediately()
        self._busy_timeout = busy_timeout

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Call ``function``; while the database is locked by another process, wait
        (without blocking the loop) and try again, up to the busy timeout."""
        deadline: float | None = None
        attempt = 0
        while True:
            try:
                return function(*args)
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._busy_timeout
                if now >= deadline:
                    raise
            await asyncio.sleep(RETRY_PAUSE_SECONDS[min(attempt, len(RETRY_PAUSE_SECONDS) - 1)])
            attempt += 1

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute_plain(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        """Run one statement and hand back ``sqlite3``'s own cursor (for the few statements
        of every update that skip SQLAlchemy's execution: storage.repositories.base)."""
        return await self.run(self._conn.execute, sql, parameters)

    async def executemany_plain(self, sql: str, rows: Any) -> sqlite3.Cursor:
        """:meth:`execute_plain` for many rows of parameters (``sqlite3``'s executemany)."""
        return await self.run(self._conn.executemany, sql, rows)

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes


def connector(database: str, *, busy_timeout: float, uri: bool = False) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens one inline connection."""

    async def connect() -> Connection:
        conn = sqlite3.connect(
            database,
            timeout=INLINE_BUSY_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
        return Connection(conn, busy_timeout)

    return connect
