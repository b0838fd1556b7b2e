"""A stop does not wait for the sender's round in hand (issue 16: the bot took more than
15 s to stop): it stops between two messages, records what went, and leaves the rest
queued, in order, for the next start. Nothing sent is sent again, nothing queued is lost."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.sender import OutboxSender
from storage.models import OutboxMessage
from tests.runtime.test_sender import FakeMessenger, queue, unlimited

GROUP = "-100200300"
TEXTS = [f"card {n}" for n in range(1, 6)]


def group_limited() -> SendLimiter:
    """Telegram's group limit, about one new message every 3 s in a group chat."""
    fast = Rate(10_000.0, burst=100)
    return SendLimiter(global_rate=fast, private_rate=fast, group_rate=Rate(20 / 60))


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        found = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(found.scalars())


async def test_a_stop_ends_the_round_between_two_messages_and_keeps_the_rest(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await queue(sessionmaker, [(GROUP, text) for text in TEXTS])
    messenger = FakeMessenger()
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, group_limited(), max_attempts=3, instance="a"
    )
    task = asyncio.create_task(sender.run())
    async with asyncio.timeout(30):
        while not messenger.sent:  # noqa: ASYNC110 - the fake is polled
            await asyncio.sleep(0.01)
    sender.stop()
    async with asyncio.timeout(60):  # generous: the assertions below are on what went
        await task
    # The round of five would have taken about 12 s; the stop came after the first.
    assert [text for _, text in messenger.sent] == TEXTS[:1]
    states = [(row.status, row.claimed_by) for row in await rows(sessionmaker)]
    assert states[0][0] == "sent"
    assert states[1:] == [("pending", None)] * 4, "the rest are queued, free for any instance"

    # The next start sends the rest, once each and in order.
    after = FakeMessenger()
    restarted = OutboxSender(
        sessionmaker, {"telegram": after}, unlimited(), max_attempts=3, instance="a"
    )
    task = asyncio.create_task(restarted.run())
    try:
        async with asyncio.timeout(60):
            while len(after.sent) < 4:  # noqa: ASYNC110 - the fake is polled
                await asyncio.sleep(0.05)
    finally:
        restarted.stop()
        await task
    assert [text for _, text in after.sent] == TEXTS[1:]
