"""SQLite statements on the event loop's thread (storage/sqlite_inline.py)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import exc, select, text

from storage import sqlite_inline
from storage.db import create_engine, create_sessionmaker
from storage.models import ProcessedUpdate
from storage.schema import upgrade
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def ticking(ticks: list[float], stop: asyncio.Event) -> None:
    """Counts the event loop's turns: it only ticks while nothing holds the loop up."""
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


@pytest.fixture
async def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    return url


async def test_an_inline_engine_keeps_the_bots_data_and_the_usual_errors(url: str) -> None:
    engine = create_engine(url, sqlite_inline=True)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_inline.Connection)
        sessionmaker = create_sessionmaker(engine)
        async with UnitOfWork(sessionmaker) as uow:
            assert await uow.updates.claim("telegram", 1, NOW)
            assert not await uow.updates.claim("telegram", 1, NOW)  # already there
            await uow.commit()
        async with UnitOfWork(sessionmaker) as uow:
            uow.session.add(ProcessedUpdate(channel="telegram", update_id=1, processed_at=NOW))
            with pytest.raises(exc.IntegrityError):
                await uow.commit()
        async with UnitOfWork(sessionmaker) as uow:  # the failed transaction left nothing
            rows = (await uow.session.scalars(select(ProcessedUpdate))).all()
        assert [(r.update_id, r.processed_at) for r in rows] == [(1, NOW)]
    finally:
        await engine.dispose()


async def test_a_lock_another_process_holds_is_waited_out_without_holding_up_the_loop(
    url: str,
) -> None:
    database = url.removeprefix("sqlite+aiosqlite:///")
    other = sqlite3.connect(database, isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    engine = create_engine(url, sqlite_inline=True)
    ticks: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(ticks, stop))
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, other.commit)  # it lets go after half a second
    try:
        started = time.monotonic()
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            assert await uow.updates.claim("telegram", 7, NOW)
            await uow.commit()
        waited = time.monotonic() - started
    finally:
        stop.set()
        await ticker
        other.close()
        await engine.dispose()
    assert waited >= 0.45
    during = [t for t in ticks if started <= t <= started + waited]
    assert len(during) >= 20  # the loop kept turning while the transaction waited
    assert max(b - a for a, b in itertools.pairwise(during)) < 0.15


async def test_a_lock_held_past_the_busy_timeout_is_reported(tmp_path: Path) -> None:
    database = str(tmp_path / "locked.db")
    setup = sqlite3.connect(database, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.execute("BEGIN IMMEDIATE")  # never let go
    conn = await sqlite_inline.connector(database, busy_timeout=0.3)()
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await conn.execute("BEGIN IMMEDIATE")
        assert 0.3 <= time.monotonic() - started < 2
        # Reading still works: WAL readers do not wait for the writer.
        cursor = await conn.execute("SELECT count(*) FROM t")
        assert await cursor.fetchone() == (0,)
    finally:
        await conn.close()
        setup.close()


async def test_statements_that_fail_for_other_reasons_are_not_retried(tmp_path: Path) -> None:
    conn = await sqlite_inline.connector(str(tmp_path / "x.db"), busy_timeout=5)()
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await conn.execute("SELECT * FROM missing")
        assert time.monotonic() - started < 0.5
        await conn.execute("CREATE TABLE t (x)")
        cursor = await conn.execute("INSERT INTO t VALUES (1), (2)")
        assert cursor.rowcount == 2
        cursor = await conn.execute(text("SELECT x FROM t ORDER BY x").text)
        assert await cursor.fetchall() == [(1,), (2,)]
    finally:
        await conn.close()
