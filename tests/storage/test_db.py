from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import (
    SQLITE_BEGIN_OPTION,
    _parse_pg_options,
    create_engine,
    create_sessionmaker,
    normalise_url,
)
from storage.models import Counter
from storage.schema import upgrade


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///bot.db", "sqlite+aiosqlite:///bot.db"),
        ("sqlite:////var/lib/bot/bot.db", "sqlite+aiosqlite:////var/lib/bot/bot.db"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://u:p@db:5432/bot", "postgresql+asyncpg://u:p@db:5432/bot"),
        ("postgres://u@db/bot", "postgresql+asyncpg://u@db/bot"),
        ("postgresql+psycopg2://u@db/bot", "postgresql+asyncpg://u@db/bot"),
        ("postgresql+asyncpg://u@db/bot", "postgresql+asyncpg://u@db/bot"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_normalise_url_rejects_other_databases() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalise_url("mysql://u@db/bot")


def test_pg_options_parsing() -> None:
    assert _parse_pg_options("-csearch_path=a,b") == {"search_path": "a,b"}
    assert _parse_pg_options("-c search_path=x -c statement_timeout=5s") == {
        "search_path": "x",
        "statement_timeout": "5s",
    }
    assert _parse_pg_options("--lock-timeout=1s") == {"lock_timeout": "1s"}
    with pytest.raises(ValueError):
        _parse_pg_options("nonsense")


async def test_sqlite_creates_parent_folder(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "bot.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert db.exists()


async def test_sqlite_pragmas_on_fresh_connection(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            values = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    assert values == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }


async def test_sqlite_foreign_keys_enforced(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO invites (token_hash, unit_id, role, uses, created_at) "
                        "VALUES ('x', 999, 'member', 0, '2026-01-01 00:00:00')"
                    )
                )
    finally:
        await engine.dispose()


def _writer_is_locked_out(database: Path) -> bool:
    """Whether another connection is refused the write lock at once."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        other.close()
    return False


@pytest.mark.parametrize("inline", [False, True], ids=["threaded", "inline"])
async def test_sqlite_transactions_begin_immediate(sqlite_url: str, inline: bool) -> None:
    """A transaction takes the write lock as it begins (so a read-then-write never fails
    half-way with SQLITE_BUSY_SNAPSHOT); a DEFERRED one only reads and leaves it free."""
    engine = create_engine(sqlite_url, sqlite_inline=inline)
    database = Path(sqlite_url.split("///", 1)[1])
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            assert _writer_is_locked_out(database)
            await conn.commit()
        assert not _writer_is_locked_out(database)
        async with engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}).connect() as conn:
            await conn.execute(text("SELECT 2"))
            assert conn.in_transaction()
            assert not _writer_is_locked_out(database)
    finally:
        await engine.dispose()


async def test_sqlite_savepoints_are_real(sqlite_url: str) -> None:
    """With SQLAlchemy emitting BEGIN, a rolled-back savepoint undoes its work only."""
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            nested = await conn.begin_nested()
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            await nested.rollback()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [1]
    finally:
        await engine.dispose()


async def _read_then_write(
    engine: AsyncEngine, hold: float, barrier: asyncio.Barrier | None = None
) -> None:
    """A transaction that reads a counter, thinks, and writes it back + 1."""
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        value = await session.scalar(select(Counter.value).where(Counter.name == "n"))
        assert value is not None
        if barrier is not None:  # everybody has read before anybody writes
            await barrier.wait()
        await asyncio.sleep(hold)
        counter = await session.get(Counter, "n")
        assert counter is not None
        counter.value = value + 1


async def test_sqlite_concurrent_writers_do_not_fail(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: read-then-write transactions queue instead of failing."""
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(Counter(name="n", value=0))
        await asyncio.gather(*(_read_then_write(engine, 0.02) for _ in range(10)))
        async with engine.connect() as conn:
            value = (await conn.execute(text("SELECT value FROM counters"))).scalar_one()
        assert value == 10  # no lost update either
    finally:
        await engine.dispose()


async def test_sqlite_deferred_begin_would_fail(sqlite_url: str) -> None:
    """The control experiment: the same work with plain BEGIN hits "database is locked"."""
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    deferred = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(Counter(name="n", value=0))
        barrier = asyncio.Barrier(2)
        outcomes = await asyncio.gather(
            *(_read_then_write(deferred, 0.01, barrier) for _ in range(2)),
            return_exceptions=True,
        )
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert errors, "expected SQLITE_BUSY with deferred transactions"
        assert all(isinstance(e, OperationalError) for e in errors)
        assert "database is locked" in str(errors[0])
    finally:
        await engine.dispose()


async def test_a_failed_statement_never_shows_its_values(db_url: str) -> None:
    """A database error names the statement, never the words people typed into it."""
    await upgrade(db_url)
    engine = create_engine(db_url)
    secret = "gọi tôi 0912 345 678"
    try:
        async with engine.connect() as conn:
            with pytest.raises(Exception) as raised:
                # Too few values for the counters' NOT NULL columns: the insert fails.
                await conn.execute(
                    text("INSERT INTO counters (name, value) VALUES (:name, NULL)"),
                    {"name": secret},
                )
    finally:
        await engine.dispose()
    assert secret not in str(raised.value) and "0912" not in str(raised.value)
