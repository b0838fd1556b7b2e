"""PostgreSQL: the outbox's claims take a lock so that two claims over the same channels never
run side by side (each would miss the other's uncommitted leases and could send a chat's
messages out of order); the drain loops of several bots claim over channels apart and must not
queue behind each other, while a claim over every channel waits for all of them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import create_engine, create_sessionmaker
from storage.schema import upgrade
from storage.uow import UnitOfWork

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def test_claims_of_other_bots_run_beside_each_other_and_a_claim_of_all_waits(
    pg_url: str,
) -> None:
    await upgrade(pg_url)
    engine = create_engine(pg_url)
    sessions = create_sessionmaker(engine)
    try:
        async with UnitOfWork(sessions) as uow:
            for n, channel in enumerate(("telegram", "telegram.north", "telegram.south")):
                await uow.outbox.add(
                    channel=channel, chat_id=str(n), payload={"text": "x"}, priority=5, now=NOW
                )
            await uow.commit()

        async def claim(**scope: object) -> list[str]:
            async with UnitOfWork(sessions) as uow:
                rows = await uow.outbox.claim_due(
                    NOW,
                    instance="b",
                    lease=LEASE,
                    limit=10,
                    **scope,  # type: ignore[arg-type]
                )
                await uow.commit()
                return [r.channel for r in rows]

        async with UnitOfWork(sessions) as north:  # a claim of north's loop, not committed
            claimed = await north.outbox.claim_due(
                NOW, instance="a", lease=LEASE, limit=10, channels=["telegram.north"]
            )
            assert [r.channel for r in claimed] == ["telegram.north"]
            # South's loop and the loop of the rest are not held up by it...
            south = await asyncio.wait_for(claim(channels=["telegram.south"]), timeout=5)
            assert south == ["telegram.south"]
            rest = await asyncio.wait_for(
                claim(other_than=["telegram.north", "telegram.south"]), timeout=5
            )
            assert rest == ["telegram"]
            # ...but another claim over north's, or over every channel, waits for it.
            again = asyncio.create_task(claim(channels=["telegram.north"]))
            everything = asyncio.create_task(claim())
            await asyncio.sleep(0.5)
            assert not again.done() and not everything.done()
            await north.commit()
        assert await asyncio.wait_for(again, timeout=5) == []  # north's row is leased
        assert await asyncio.wait_for(everything, timeout=5) == []
    finally:
        await engine.dispose()
