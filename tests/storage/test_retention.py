"""Handled update ids and inbox rows are pruned past the retention window
(storage/retention.py), on SQLite and PostgreSQL, without making redelivery or a
restart's inbox replay handle anything twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.inbox import Inbox
from storage.models import InboxUpdate, Person, ProcessedUpdate
from storage.retention import MIN_KEEP, prune
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
KEEP = timedelta(days=7)


def update(update_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"chat": {"id": 7}, "text": "Lắp thêm quạt"}}


async def handled(
    sessionmaker: async_sessionmaker[AsyncSession],
    channel: str,
    ids: range | list[int],
    at: datetime,
) -> None:
    """Record these updates as handled at ``at``, as the dispatcher does."""
    async with UnitOfWork(sessionmaker) as uow:
        for update_id in ids:
            assert await uow.updates.claim(channel, update_id, at)
        await uow.commit()


async def processed_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> set[tuple[str, int]]:
    async with UnitOfWork(sessionmaker) as uow:
        rows = await uow.session.execute(select(ProcessedUpdate.channel, ProcessedUpdate.update_id))
        return {(channel, update_id) for channel, update_id in rows}


async def inbox_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> set[tuple[str, int]]:
    async with UnitOfWork(sessionmaker) as uow:
        rows = await uow.session.execute(select(InboxUpdate.channel, InboxUpdate.update_id))
        return {(channel, update_id) for channel, update_id in rows}


async def test_ids_handled_before_the_window_go_and_recent_ones_stay(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await handled(sessionmaker, "telegram", range(1, 4), NOW - timedelta(days=30))
    await handled(sessionmaker, "telegram", [4], NOW - KEEP - timedelta(minutes=1))
    await handled(sessionmaker, "telegram", [5], NOW - KEEP + timedelta(minutes=1))
    await handled(sessionmaker, "telegram", [6], NOW - timedelta(seconds=1))
    # Zalo's derived ids live in the same table under their own channel name.
    await handled(sessionmaker, "zalo", [2**62, 2**62 + 1], NOW - timedelta(days=8))
    await handled(sessionmaker, "zalo", [2**62 + 2], NOW - timedelta(days=1))

    result = await prune(sessionmaker, NOW, keep=KEEP)

    assert result.processed == 6
    assert await processed_ids(sessionmaker) == {
        ("telegram", 5),
        ("telegram", 6),
        ("zalo", 2**62 + 2),
    }
    # A second pass finds nothing more to do.
    again = await prune(sessionmaker, NOW, keep=KEEP)
    assert (again.processed, again.inbox) == (0, 0)


async def test_a_redelivered_update_inside_the_window_is_still_a_duplicate(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Telegram keeps an unconfirmed update at most 24 hours; the window is days longer.
    await handled(sessionmaker, "telegram", [41], NOW - timedelta(hours=23))
    await handled(sessionmaker, "telegram", [40], NOW - timedelta(days=MIN_KEEP.days - 1))
    await prune(sessionmaker, NOW, keep=MIN_KEEP)
    async with UnitOfWork(sessionmaker) as uow:
        assert not await uow.updates.claim("telegram", 41, NOW)
        assert not await uow.updates.claim("telegram", 40, NOW)


async def test_old_inbox_rows_go_with_their_ids_so_a_restart_replays_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    old = NOW - timedelta(days=10)
    # 100 and 101 were handled but a crash (or a switch to webhook mode) left their rows.
    await inbox.store([(100, update(100)), (101, update(101))], now=old)
    await handled(sessionmaker, "telegram", [100, 101], old + timedelta(seconds=2))
    # 102 waits, received a minute ago.
    await inbox.store([(102, update(102))], now=NOW - timedelta(minutes=1))

    result = await prune(sessionmaker, NOW, keep=KEEP)

    assert result.inbox == 2 and result.processed == 2
    assert await inbox_ids(sessionmaker) == {("telegram", 102)}
    # The restart's replay: only the update never handled.
    pending, highest = await inbox.pending()
    assert [update_id for update_id, _ in pending] == [102]
    assert highest == 102


async def test_an_id_whose_inbox_row_is_still_there_is_kept(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # An inbox row younger than the window (another instance's clock, say) keeps its
    # update's id, however old the id: without it the row would be replayed.
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(7, update(7))], now=NOW - timedelta(days=1))
    await handled(sessionmaker, "telegram", [7], NOW - timedelta(days=9))
    result = await prune(sessionmaker, NOW, keep=KEEP)
    assert result.processed == 0
    assert await inbox.pending() == ([], 7)


async def test_an_old_update_never_handled_is_dropped_and_counted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessionmaker, "telegram")
    await inbox.store([(9, update(9))], now=NOW - timedelta(days=8))
    result = await prune(sessionmaker, NOW, keep=KEEP)
    assert (result.inbox, result.never_handled) == (1, 1)
    assert await inbox.pending() == ([], None)


async def test_the_pass_deletes_in_short_chunks(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await handled(sessionmaker, "telegram", range(1, 11), NOW - timedelta(days=8))
    inbox = Inbox(sessionmaker, "zalo")
    await inbox.store([(i, update(i)) for i in range(1, 5)], now=NOW - timedelta(days=8))

    result = await prune(sessionmaker, NOW, keep=KEEP, chunk=3)

    assert result.processed == 10 and result.inbox == 4
    # Inbox 3 + 1, then ids 3 + 3 + 3 + 1: one short transaction each.
    assert result.chunks == 6
    assert await processed_ids(sessionmaker) == set()


async def test_a_window_shorter_than_redelivery_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="2 days"):
        await prune(sessionmaker, NOW, keep=timedelta(hours=36))


async def test_two_instances_pruning_at_once_both_finish(db_url: str) -> None:
    first, second = create_engine(db_url), create_engine(db_url)
    try:
        await _upgrade(db_url)
        one, two = create_sessionmaker(first), create_sessionmaker(second)
        await handled(one, "telegram", range(1, 201), NOW - timedelta(days=8))
        await handled(one, "telegram", range(201, 211), NOW - timedelta(hours=1))
        await Inbox(one, "telegram").store(
            [(i, update(i)) for i in range(1, 41)], now=NOW - timedelta(days=8)
        )
        results = await asyncio.gather(
            prune(one, NOW, keep=KEEP, chunk=7),
            prune(two, NOW, keep=KEEP, chunk=7),
        )
        assert sum(r.processed for r in results) == 200
        assert sum(r.inbox for r in results) == 40
        assert await processed_ids(one) == {("telegram", i) for i in range(201, 211)}
        assert await inbox_ids(one) == set()
    finally:
        await first.dispose()
        await second.dispose()


async def _upgrade(db_url: str) -> None:
    from storage.schema import upgrade

    await upgrade(db_url)


async def test_expired_dashboard_sessions_and_links_go_and_live_ones_stay(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        person = Person(display_name="Chị Lan", created_at=NOW)
        uow.session.add(person)
        await uow.flush()
        for n, expires in enumerate((NOW - timedelta(minutes=1), NOW + timedelta(hours=1))):
            await uow.web.add_session(bytes([n]) * 32, person.id, now=NOW, expires_at=expires)
            await uow.web.add_sign_in(bytes([n + 8]) * 32, person.id, now=NOW, expires_at=expires)
        await uow.commit()
    result = await prune(sessionmaker, NOW, keep=KEEP)
    assert result.web == 2
    async with UnitOfWork(sessionmaker) as uow:
        assert await uow.web.session_person(bytes([1]) * 32, now=NOW) == person.id
        assert await uow.web.session_person(bytes([0]) * 32, now=NOW - timedelta(hours=1)) is None
        assert await uow.web.redeem_sign_in(bytes([9]) * 32, now=NOW) == person.id
