"""Several bot instances on one database: outbox leases, chat locks, shared send slots."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.instances import instance_name, reserve_slot
from storage.models import OutboxMessage
from storage.schema import upgrade
from storage.uow import UnitOfWork

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    chats: list[str],
    *,
    priority: int = 5,
    at: datetime = T0,
    claimed_by: str | None = None,
) -> list[int]:
    async with UnitOfWork(sessionmaker) as uow:
        rows = [
            await uow.outbox.add_row(
                channel="telegram",
                chat_id=chat,
                payload={"text": f"to {chat}"},
                priority=priority,
                now=at,
                claimed_by=claimed_by,
                claimed_until=at + LEASE if claimed_by else None,
            )
            for chat in chats
        ]
        await uow.commit()
    return [row.id for row in rows]


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    instance: str,
    now: datetime = T0,
    limit: int = 100,
) -> list[int]:
    async with UnitOfWork(sessionmaker) as uow:
        rows = await uow.outbox.claim_due(now, instance=instance, lease=LEASE, limit=limit)
        await uow.commit()
    return [row.id for row in rows]


async def test_a_claimed_row_is_nobody_elses_until_its_lease_runs_out(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await queue(sessionmaker, ["1", "2", "3"])
    assert await claim(sessionmaker, "a") == ids
    assert await claim(sessionmaker, "b") == []
    assert await claim(sessionmaker, "b", now=T0 + LEASE + timedelta(seconds=1)) == ids


async def test_claims_take_the_most_urgent_first_and_respect_the_limit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    bulk = await queue(sessionmaker, ["1", "2"], priority=9)
    urgent = await queue(sessionmaker, ["3"], priority=1)
    assert await claim(sessionmaker, "a", limit=2) == [urgent[0], bulk[0]]
    assert await claim(sessionmaker, "b") == [bulk[1]]


async def test_a_chats_later_message_waits_while_an_earlier_one_is_outstanding(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A reply leased to the instance that handled the update, then a notification.
    [reply] = await queue(sessionmaker, ["7"], priority=0, claimed_by="a")
    [later] = await queue(sessionmaker, ["7"])
    [other] = await queue(sessionmaker, ["8"])
    assert await claim(sessionmaker, "b") == [other]
    async with UnitOfWork(sessionmaker) as uow:
        await uow.outbox.mark_sent(reply, message_id="1", now=T0)
        await uow.commit()
    assert await claim(sessionmaker, "b") == [later]


async def test_a_chats_later_message_waits_behind_one_waiting_to_retry(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await queue(sessionmaker, ["7", "7"])
    assert await claim(sessionmaker, "a") == [first, second]
    async with UnitOfWork(sessionmaker) as uow:
        await uow.outbox.mark_retry(first, at=T0 + timedelta(seconds=30), error="timeout")
        await uow.outbox.mark_retry(second, at=T0, error="skipped")
        await uow.commit()
    assert await claim(sessionmaker, "b", now=T0 + timedelta(seconds=1)) == []
    assert await claim(sessionmaker, "b", now=T0 + timedelta(seconds=31)) == [first, second]


async def test_a_restarted_instance_gives_up_only_its_own_earlier_leases(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    [mine_before] = await queue(sessionmaker, ["1"], claimed_by="a")
    [theirs] = await queue(sessionmaker, ["2"], claimed_by="b")
    [mine_after] = await queue(sessionmaker, ["3"], at=T0 + timedelta(seconds=5), claimed_by="a")
    async with UnitOfWork(sessionmaker) as uow:
        released = await uow.outbox.release_claims("a", created_before=T0 + timedelta(seconds=1))
        await uow.commit()
    assert released == 1
    assert await claim(sessionmaker, "a", now=T0 + timedelta(seconds=6)) == [mine_before]
    async with sessionmaker() as session:
        for row_id, owner in ((theirs, "b"), (mine_after, "a")):
            row = await session.get(OutboxMessage, row_id)
            assert row is not None and row.claimed_by == owner


@pytest.mark.postgres
async def test_instances_claiming_at_once_never_take_the_same_row(pg_url: str) -> None:
    await upgrade(pg_url)
    engines = [create_engine(pg_url) for _ in range(3)]
    try:
        makers = [create_sessionmaker(e) for e in engines]
        ids = await queue(makers[0], [str(chat) for chat in range(300)])
        claimed: list[list[int]] = [[], [], []]

        async def drain(n: int) -> None:
            while batch := await claim(makers[n], f"i{n}", limit=7):
                claimed[n].extend(batch)

        await asyncio.gather(*(drain(n) for n in range(3)))
        everything = [row for batch in claimed for row in batch]
        assert sorted(everything) == ids  # each row once, none left behind
        assert all(claimed), "every instance took a share"
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_a_chat_lock_holds_a_second_instance_until_the_first_commits(pg_url: str) -> None:
    await upgrade(pg_url)
    engines = [create_engine(pg_url) for _ in range(2)]
    try:
        first, second = (create_sessionmaker(e) for e in engines)
        order: list[str] = []
        async with UnitOfWork(first) as uow:
            await uow.lock_chat("telegram:42")

            async def other() -> None:
                async with UnitOfWork(second) as uow2:
                    await uow2.lock_chat("telegram:42")
                    order.append("second")
                    await uow2.commit()

            task = asyncio.create_task(other())
            async with UnitOfWork(second) as uow3:  # another chat is not held up
                await uow3.lock_chat("telegram:43")
            await asyncio.sleep(0.3)
            order.append("first")
            await uow.commit()
        await task
        assert order == ["first", "second"]
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_shared_send_slots_space_every_instances_sends(pg_url: str) -> None:
    """Three processes' reservations on one key form one schedule at the set rate."""
    await upgrade(pg_url)
    engines = [create_engine(pg_url) for _ in range(3)]
    interval = 0.05
    try:
        started = time.monotonic()
        waits = await asyncio.gather(
            *(reserve_slot(engines[n % 3], "bot", interval, 0.0) for n in range(30))
        )
        elapsed = time.monotonic() - started
        slots = sorted(waits)
        # 30 slots 50 ms apart: the first is now, the last about 1.45 s away. A lost
        # update (two instances reading the same slot) would leave it nearer.
        assert slots[0] < interval
        assert slots[-1] >= 29 * interval - elapsed - 0.01
    finally:
        for engine in engines:
            await engine.dispose()


def test_instance_name_prefers_the_setting_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_INSTANCE", "bot-2")
    assert instance_name("bot-1") == "bot-1"
    assert instance_name() == "bot-2"
    monkeypatch.delenv("BOT_INSTANCE")
    assert instance_name()  # the host name
    assert len(instance_name("x" * 100)) == 64


async def test_the_reminder_query_locks_and_skips_on_every_database(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """FOR UPDATE SKIP LOCKED (PostgreSQL) and its absence (SQLite) both run."""
    async with UnitOfWork(sessionmaker) as uow:
        assert await uow.ideas.waiting_since_before(T0, limit=10) == []


async def test_a_claim_takes_a_few_of_one_chats_rows_and_leaves_the_rest_waiting(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    busy = await queue(sessionmaker, ["7"] * 5)
    [other] = await queue(sessionmaker, ["8"])
    async with UnitOfWork(sessionmaker) as uow:
        rows = await uow.outbox.claim_due(T0, instance="a", lease=LEASE, limit=100, per_chat=2)
        await uow.commit()
    assert [row.id for row in rows] == [*busy[:2], other]
    assert await claim(sessionmaker, "b") == []  # chat 7's rest waits behind a's two
    async with UnitOfWork(sessionmaker) as uow:
        for row_id in busy[:2]:
            await uow.outbox.mark_sent(row_id, message_id="1", now=T0)
        await uow.commit()
    assert await claim(sessionmaker, "b") == busy[2:]


@pytest.mark.postgres
async def test_instances_claiming_at_once_never_split_a_chat(pg_url: str) -> None:
    """Three claims at the same moment: one chat's rows go to one instance only."""
    await upgrade(pg_url)
    engines = [create_engine(pg_url) for _ in range(3)]
    try:
        makers = [create_sessionmaker(e) for e in engines]
        for _ in range(5):
            async with UnitOfWork(makers[0]) as uow:
                await uow.session.execute(OutboxMessage.__table__.delete())
                await uow.commit()
            await queue(makers[0], ["7"] * 30)

            async def take(n: int) -> list[int]:
                async with UnitOfWork(makers[n]) as uow:
                    rows = await uow.outbox.claim_due(
                        T0, instance=f"i{n}", lease=LEASE, limit=5, per_chat=5
                    )
                    await asyncio.sleep(0.05)  # hold the transaction open a moment
                    await uow.commit()
                return [row.id for row in rows]

            shares = await asyncio.gather(*(take(n) for n in range(3)))
            assert sorted(len(share) for share in shares) == [0, 0, 5], shares
    finally:
        for engine in engines:
            await engine.dispose()
