"""The inbox keeps fetched updates until handled (storage/inbox.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.inbox import Inbox
from storage.models import InboxUpdate, ProcessedUpdate
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def update(update_id: int, text: str = "Đề xuất lắp thêm quạt ở xưởng may") -> dict[str, object]:
    return {"update_id": update_id, "message": {"chat": {"id": 7}, "text": text}}


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with UnitOfWork(sessionmaker) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


async def test_stored_updates_come_back_oldest_first_as_they_were_sent(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(12, update(12)), (10, update(10, "Tiết kiệm điện 😀"))], now=NOW)
    await inbox.store([(11, update(11))], now=NOW)
    pending, highest = await inbox.pending()
    assert [update_id for update_id, _ in pending] == [10, 11, 12]
    assert pending[0][1] == update(10, "Tiết kiệm điện 😀")
    assert highest == 12
    # Another channel's inbox is its own.
    assert await Inbox(sessionmaker, "zalo").pending() == ([], None)


async def test_storing_a_batch_again_keeps_one_row_each(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(5, update(5)), (6, update(6))], now=NOW)
    await inbox.store([(5, update(5)), (6, update(6)), (7, update(7))], now=NOW)
    assert await rows(sessionmaker) == 3


async def test_handled_updates_are_forgotten_with_the_next_batch_or_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(1, update(1)), (2, update(2)), (3, update(3))], now=NOW)
    await inbox.store([(4, update(4))], now=NOW, forget=[1, 3])
    pending, highest = await inbox.pending()
    assert highest == 4
    assert [update_id for update_id, _ in pending] == [2, 4]
    await inbox.forget([2, 4])
    assert await inbox.pending() == ([], None)
    many = list(range(100, 1300))  # more ids than one DELETE statement takes
    await inbox.store([(i, update(i)) for i in many], now=NOW)
    await inbox.forget(many[:-1])
    assert await rows(sessionmaker) == 1


async def test_pending_leaves_out_and_drops_updates_handled_before_a_crash(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(20, update(20)), (21, update(21)), (22, update(22))], now=NOW)
    async with UnitOfWork(sessionmaker) as uow:  # 20 and 22 committed, not yet forgotten
        uow.updates.record("telegram", 20, NOW)
        uow.updates.record("telegram", 22, NOW)
        uow.session.add(ProcessedUpdate(channel="zalo", update_id=21, processed_at=NOW))
        await uow.commit()
    pending, highest = await inbox.pending()
    assert [update_id for update_id, _ in pending] == [21]
    assert highest == 22  # polling goes on past the handled ones too
    assert await rows(sessionmaker) == 1
