"""UnitOfWork.memo: an answer asked for many times in one update is read once, and read
again as soon as the transaction writes what it depends on: never a stale answer."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Counter
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, tzinfo=UTC)


async def test_memo_reads_once_and_again_after_a_write_to_its_tables(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    reads: list[int] = []

    async def value(uow: UnitOfWork) -> int:
        async def compute() -> int:
            found = await uow.session.scalar(select(Counter.value).where(Counter.name == "n"))
            reads.append(int(found or 0))
            return int(found or 0)

        return await uow.memo(("counter", "n"), ("counters",), compute)

    async with UnitOfWork(sessionmaker) as uow:
        await uow.session.execute(insert(Counter).values(name="n", value=1))
        assert await value(uow) == 1
        assert await value(uow) == 1
        assert reads == [1]  # asked twice, read once
        # A write elsewhere (the outbox, the processed updates) keeps the answer.
        await uow.updates.claim("telegram", 1, NOW)
        assert await value(uow) == 1
        assert reads == [1]
        # A Core statement on the table the answer is read from: read again.
        await uow.session.execute(update(Counter).where(Counter.name == "n").values(value=2))
        assert await value(uow) == 2
        # An ORM change flushed before the next query: read again.
        row = await uow.session.scalar(select(Counter).where(Counter.name == "n"))
        assert row is not None
        row.value = 3
        await uow.flush()
        assert await value(uow) == 3
        # A text statement (its tables unknown): read again.
        await uow.session.execute(text("UPDATE counters SET value = 4 WHERE name = 'n'"))
        assert await value(uow) == 4
        assert reads == [1, 2, 3, 4]
        await uow.commit()

    # Each transaction reads afresh.
    async with UnitOfWork(sessionmaker) as uow:
        assert await value(uow) == 4
        assert reads == [1, 2, 3, 4, 4]


async def test_memo_never_answers_from_before_an_unflushed_orm_change(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A role added or removed through the ORM and not flushed yet must count: the team
    that serves a unit is such an answer, and a stale one would let the wrong team act."""

    async def value(uow: UnitOfWork) -> int:
        async def compute() -> int:
            return int(
                await uow.session.scalar(select(Counter.value).where(Counter.name == "m")) or 0
            )

        return await uow.memo(("counter", "m"), ("counters",), compute)

    async with UnitOfWork(sessionmaker) as uow:
        await uow.session.execute(insert(Counter).values(name="m", value=1))
        assert await value(uow) == 1
        row = await uow.session.scalar(select(Counter).where(Counter.name == "m"))
        assert row is not None
        row.value = 5  # changed in the session, not flushed
        assert await value(uow) == 5
        await uow.session.delete(row)  # deleted, not flushed
        assert await value(uow) == 0
        await uow.commit()
