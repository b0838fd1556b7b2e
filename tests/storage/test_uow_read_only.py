"""A read-only unit of work (the dashboard's views) never waits for the bot's writers,
never holds them up, and sees only what they committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import SQLITE_BEGIN_OPTION, create_engine, create_sessionmaker
from storage.models import Base, Counter
from storage.uow import UnitOfWork


async def test_a_read_runs_beside_a_writer_and_sees_only_what_was_committed(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    reader_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    writers, readers = create_sessionmaker(engine), create_sessionmaker(reader_engine)
    began: list[str] = []

    @event.listens_for(reader_engine.sync_engine, "begin")
    def _seen(conn: Connection) -> None:  # storage.db issues the BEGIN this option names
        began.append(f"BEGIN {conn.get_execution_options().get(SQLITE_BEGIN_OPTION)}")

    async with UnitOfWork(writers) as uow:
        uow.session.add(Counter(name="kept", value=1))
        await uow.commit()

    async def read() -> list[str]:
        async with UnitOfWork(readers, read_only=True) as uow:
            return list((await uow.session.execute(select(Counter.name))).scalars())

    async with UnitOfWork(writers) as writer:  # holds the writers' line and SQLite's lock
        writer.session.add(Counter(name="pending", value=1))
        await writer.flush()
        assert await asyncio.wait_for(read(), timeout=2) == ["kept"]
        # A second writer of this process waits in line behind the first.
        waiting = asyncio.create_task(_write(writers, "second"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await writer.commit()
    await asyncio.wait_for(waiting, timeout=5)
    assert began == ["BEGIN DEFERRED"]
    assert sorted(await read()) == ["kept", "pending", "second"]

    async with UnitOfWork(readers, read_only=True) as uow:
        with pytest.raises(RuntimeError):
            await uow.commit()
    await engine.dispose()
    await reader_engine.dispose()


async def _write(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        uow.session.add(Counter(name=name, value=1))
        await uow.commit()
