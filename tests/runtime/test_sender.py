"""The outbox sender with a fake messenger: order, retries, leases, restarts, instances."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.errors import TransientSendError
from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.sender import OutboxSender
from handlers.events import OutMessage
from storage.models import OutboxMessage
from storage.uow import UnitOfWork


class FakeMessenger:
    channel = "telegram"

    def __init__(
        self,
        fail_once: Sequence[str] = (),
        log: list[tuple[str, str]] | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.seconds = seconds  # how long one call takes
        self.sent: list[tuple[str, str]] = []
        self.log = log if log is not None else []  # shared by several instances
        self._fail_once = set(fail_once)
        self._ids = iter(range(1, 1_000_000))

    async def send(self, chat_id: str, message: OutMessage) -> str:
        await asyncio.sleep(self.seconds)
        if message.text in self._fail_once:
            self._fail_once.discard(message.text)
            raise TransientSendError("timeout")
        self.sent.append((chat_id, message.text))
        self.log.append((chat_id, message.text))
        return str(next(self._ids))

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        return None

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        return None


def unlimited() -> SendLimiter:
    fast = Rate(10_000.0, burst=100)
    return SendLimiter(global_rate=fast, private_rate=fast, group_rate=fast)


def now() -> datetime:
    return datetime.now(UTC)


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    messages: Sequence[tuple[str, str]],
    *,
    claimed_by: str | None = None,
    at: datetime | None = None,
) -> list[OutboxMessage]:
    at = at or now()
    async with UnitOfWork(sessionmaker) as uow:
        rows = [
            await uow.outbox.add_row(
                channel="telegram",
                chat_id=chat,
                payload=OutMessage(text=text).to_json(),
                priority=0 if claimed_by else 5,
                now=at,
                claimed_by=claimed_by,
                claimed_until=at + timedelta(seconds=15) if claimed_by else None,
            )
            for chat, text in messages
        ]
        await uow.commit()
    return rows


async def pending(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        return len(rows.scalars().all())


async def drain(sender: OutboxSender, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Run the sender until nothing is pending."""
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(10):
            while await pending(sessionmaker):  # noqa: ASYNC110 - the database is polled
                await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task


async def test_after_a_failed_send_the_chats_later_messages_wait_and_keep_their_order(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.runtime.sender.BACKOFF_BASE_SECONDS", 0.2)
    messenger = FakeMessenger(fail_once=["a1"])
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, unlimited(), max_attempts=5, instance="one"
    )
    await queue(sessionmaker, [("A", "a1"), ("A", "a2"), ("A", "a3"), ("B", "b1")])
    await drain(sender, sessionmaker)
    assert [t for c, t in messenger.sent if c == "A"] == ["a1", "a2", "a3"]
    assert ("B", "b1") in messenger.sent
    assert len(messenger.sent) == 4


async def test_replies_are_sent_at_once_by_the_instance_that_holds_them(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    messenger = FakeMessenger()
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, unlimited(), max_attempts=5, instance="one"
    )
    rows = await queue(sessionmaker, [("A", "r1"), ("A", "r2")], claimed_by="one")
    other = OutboxSender(
        sessionmaker, {"telegram": FakeMessenger()}, unlimited(), max_attempts=5, instance="two"
    )
    await other._drain_once()  # another instance leaves leased replies alone
    await sender.deliver(rows)
    assert messenger.sent == [("A", "r1"), ("A", "r2")]
    assert await pending(sessionmaker) == 0


async def test_a_restarted_instance_sends_what_its_previous_run_held_at_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Replies leased to "one" a moment before it was killed: their lease has 15 s left.
    await queue(sessionmaker, [("A", "r1")], claimed_by="one", at=now() - timedelta(seconds=1))
    stranger = FakeMessenger()
    await OutboxSender(
        sessionmaker, {"telegram": stranger}, unlimited(), max_attempts=5, instance="two"
    )._drain_once()
    assert stranger.sent == []  # not while the lease lasts
    restarted = FakeMessenger()
    sender = OutboxSender(
        sessionmaker, {"telegram": restarted}, unlimited(), max_attempts=5, instance="one"
    )
    await drain(sender, sessionmaker)
    assert restarted.sent == [("A", "r1")]


async def test_three_instances_draining_one_outbox_send_every_message_once(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.runtime.sender.IDLE_POLL_SECONDS", 0.005)
    await queue(sessionmaker, [(str(n % 40), f"m{n}") for n in range(400)])
    log: list[tuple[str, str]] = []  # what the chats saw, in the order they saw it
    messengers = [FakeMessenger(log=log, seconds=0.002) for _ in range(3)]
    senders = [
        OutboxSender(sessionmaker, {"telegram": m}, unlimited(), max_attempts=5, instance=f"i{n}")
        for n, m in enumerate(messengers)
    ]
    tasks = [asyncio.create_task(s.run()) for s in senders]
    try:
        async with asyncio.timeout(20):
            while await pending(sessionmaker):  # noqa: ASYNC110 - the database is polled
                await asyncio.sleep(0.05)
    finally:
        for s in senders:
            s.stop()
        await asyncio.gather(*tasks)
    everything = [text for m in messengers for _, text in m.sent]
    assert sorted(everything) == sorted(f"m{n}" for n in range(400))
    assert sum(1 for m in messengers if m.sent) >= 2, "the instances shared the work"
    for chat in map(str, range(40)):  # each chat saw its messages in the order queued
        numbers = [int(text[1:]) for c, text in log if c == chat]
        assert numbers == [n for n in range(400) if n % 40 == int(chat)]


async def test_replies_sent_at_the_same_time_are_recorded_together_each_with_its_message_id(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    messenger = FakeMessenger(seconds=0.01)
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, unlimited(), max_attempts=5, instance="one"
    )
    chats = [f"chat{n}" for n in range(40)]
    rows = await queue(
        sessionmaker, [(chat, f"{chat}:{k}") for chat in chats for k in (1, 2)], claimed_by="one"
    )
    by_chat = {chat: [r for r in rows if r.chat_id == chat] for chat in chats}
    await asyncio.gather(*(sender.deliver(chain) for chain in by_chat.values()))

    async with sessionmaker() as session:
        stored = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert {r.status for r in stored} == {"sent"}
    assert {r.claimed_by for r in stored} == {None}
    # Each row got the id Telegram gave its own message, in each chat's order.
    sent_ids = {text: str(n) for n, (_, text) in enumerate(messenger.sent, start=1)}
    assert {r.id: r.message_id for r in stored} == {
        r.id: sent_ids[OutMessage.from_json(r.payload).text] for r in stored
    }
    assert [t for c, t in messenger.sent if c == "chat7"] == ["chat7:1", "chat7:2"]
    # 80 messages from 40 chats at once: far fewer write transactions than messages.
    assert sender._sent.transactions < 20


async def test_a_failed_group_commit_leaves_the_rows_leased_for_a_later_send(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    messenger = FakeMessenger()
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, unlimited(), max_attempts=5, instance="one"
    )
    rows = await queue(sessionmaker, [("A", "a1"), ("A", "a2")], claimed_by="one")

    async def unavailable(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr("storage.repositories.outbox.OutboxRepository.mark_sent_many", unavailable)
    with pytest.raises(ConnectionError):
        await sender.deliver(rows)
    assert messenger.sent == [("A", "a1")]  # a2 waits: a1's send is not on record
    async with sessionmaker() as session:
        stored = (await session.scalars(select(OutboxMessage))).all()
    assert {(r.status, r.claimed_by) for r in stored} == {("pending", "one")}
