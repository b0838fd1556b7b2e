"""Database fixtures: every ``db_url`` test runs on SQLite and on PostgreSQL.

SQLite: a fresh file in the test's temporary folder; a migrated one (``migrated_engine``)
is a copy of one file migrated once per session (``migrated_sqlite``, tests/conftest.py):
migrating takes far longer than copying.
PostgreSQL (``TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``):
a fresh schema per test, made the connection's ``search_path`` through the URL
(``?options=-csearch_path%3D<schema>``, which storage.db turns into asyncpg
``server_settings``), dropped afterwards; parallel runs never share tables.

PostgreSQL tests skip when the server is unreachable, except under CI (the ``CI``
environment variable is set), where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.schema import upgrade

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

_pg_reachable: dict[str, str | None] = {}


def _plain_pg_dsn() -> str:
    """The server URL as asyncpg itself understands it (no SQLAlchemy driver name)."""
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


async def _probe() -> str | None:
    try:
        conn = await asyncpg.connect(_plain_pg_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def require_postgres() -> None:
    """Skip (or under CI fail) the current test when PostgreSQL is unreachable.

    The ``_postgres_checked`` fixture must have probed the server first.
    """
    error = _pg_reachable["error"]
    if error is None:
        return
    message = f"PostgreSQL at {PG_URL} is unreachable ({error})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(message)


def schema_url(schema: str) -> str:
    url = make_url(PG_URL).set(drivername="postgresql+asyncpg")
    base = url.render_as_string(hide_password=False)
    separator = "&" if url.query else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(_plain_pg_dsn(), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def _postgres_checked() -> None:
    """Probe the server once per session, outside any event loop."""
    if "error" not in _pg_reachable:
        _pg_reachable["error"] = asyncio.run(_probe())


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A URL whose tables live in a brand-new PostgreSQL schema, dropped afterwards."""
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    await _pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        await _pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def pg_url(_postgres_checked: None) -> AsyncIterator[str]:
    """An empty PostgreSQL schema (for PostgreSQL-only tests)."""
    async with fresh_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database file (in a folder that does not exist yet)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_checked: None
) -> AsyncIterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}"
        return
    async with fresh_schema() as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the empty database (nothing migrated)."""
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def migrated_engine(
    db_url: str, migrated_sqlite: Callable[[str], None]
) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to head; on SQLite the bot's own, inline engine
    (storage/sqlite_inline.py), whose fixed statements skip SQLAlchemy's execution
    (storage/repositories/base.py): the tests run what the bot runs."""
    if db_url.startswith("sqlite"):
        migrated_sqlite(db_url)
    else:
        await upgrade(db_url)
    eng = create_engine(db_url, sqlite_inline=True)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessionmaker(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(migrated_engine)


@pytest.fixture
def dialect(db_url: str) -> Iterator[str]:
    yield make_url(db_url).get_backend_name()
