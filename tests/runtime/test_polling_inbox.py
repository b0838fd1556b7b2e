"""Long polling with the inbox (bot/runtime/polling.py, storage/inbox.py).

The same in-memory getUpdates as ``test_polling.py``, but the loop stores each batch in a
real SQLite inbox before it confirms it: Telegram delivers every update once, however
long its work takes, and an update a crash interrupts is handled at the next start.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import Inboxed, RawUpdate, poll
from storage.inbox import Inbox
from storage.models import InboxUpdate
from storage.uow import UnitOfWork
from tests.runtime.test_polling import FakeTelegram, Work, until


class InboxTelegram(FakeTelegram):
    """Counts deliveries per update; the offset may pass what the inbox holds."""

    def __init__(self, work: Work, inbox: Inbox) -> None:
        super().__init__(work)
        self.inbox = inbox
        self.deliveries: Counter[int] = Counter()
        self.stored: set[int] = set()  # what the loop had stored when it confirmed

    def send(self, chat: str) -> int:
        update_id = super().send(chat)
        data = {"update_id": update_id, "chat": chat}
        self.pending[-1] = RawUpdate(update_id, f"telegram:{chat}", data, data)
        return update_id

    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]:
        if offset is not None:
            # Shielded: a stop cancels the fetch in hand, and this bookkeeping read (which a
            # real getUpdates does not make) must not be cut off inside its transaction,
            # or its connection keeps SQLite's write lock and the next one waits it out.
            pending, _ = await asyncio.shield(self.inbox.pending_view())
            self.stored |= pending
        batch = await super().fetch(offset, timeout, known_through=known_through)
        self.deliveries.update(u.update_id for u in batch)
        return batch

    def _check(self, offset: int | None) -> None:
        if offset is None:
            return
        for update_id in sorted(self.delivered):
            if update_id < offset and not (
                update_id in self.work.finished or update_id in self.stored
            ):
                self.violations.append(f"offset {offset} confirms unstored update {update_id}")


class WatchedInbox(Inbox):
    """The real inbox, with a view of its ids for the fake's check and failures on demand."""

    failures = 0

    async def pending_view(self) -> tuple[set[int], None]:
        async with UnitOfWork(self._sessionmaker) as uow:
            ids = (await uow.session.scalars(select(InboxUpdate.update_id))).all()
        return set(ids), None

    async def store(self, updates: Any, **kwargs: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is locked")
        await super().store(updates, **kwargs)


class CommittingWork(Work):
    """Work that, like the dispatcher, records each update it handles as processed."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessionmaker = sessionmaker
        self.committed: set[int] = set()

    async def __call__(self, raw: RawUpdate) -> None:
        await super().__call__(raw)
        async with UnitOfWork(self.sessionmaker) as uow:
            uow.updates.record("telegram", raw.update_id, datetime.now(UTC))
            await uow.commit()
        self.committed.add(raw.update_id)


def committing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[WatchedInbox, CommittingWork, InboxTelegram]:
    """A real inbox, work that commits what it handles, and a Telegram over both."""
    inbox = WatchedInbox(sessionmaker, "telegram")
    work = CommittingWork(sessionmaker)
    return inbox, work, InboxTelegram(work, inbox)


def wrap(data: Any) -> RawUpdate:
    return RawUpdate(data["update_id"], f"telegram:{data['chat']}", data, data)


class Run:
    """One life of the bot: ``poll`` with the inbox, over a given Telegram."""

    def __init__(self, telegram: InboxTelegram, inbox: WatchedInbox) -> None:
        self.telegram = telegram
        self.work = telegram.work
        self.intake = OrderedIntake(16)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            poll(
                telegram,
                self.intake,
                self.work,
                self.stop,
                timeout=1,
                inbox=Inboxed(inbox, wrap),
            )
        )

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)
        assert self.telegram.violations == []

    async def crash(self) -> None:
        """The process dies: nothing more runs, nothing is confirmed or cleaned up."""
        self.task.cancel()
        for task in list(self.intake._runners.values()):
            task.cancel()
        await asyncio.gather(self.task, *self.intake._runners.values(), return_exceptions=True)


async def test_a_batch_is_confirmed_once_stored_so_each_update_is_delivered_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox = WatchedInbox(sessionmaker, "telegram")
    work = Work()
    tg = InboxTelegram(work, inbox)
    run = Run(tg, inbox)
    slow = tg.send("A")
    gate = work.hold(slow)
    quick = [tg.send("B"), tg.send("C"), tg.send("B")]
    await until(lambda: all(u in work.finished for u in quick))
    # The slow update is still being handled, yet the offset is past it already.
    await until(lambda: tg.offsets[-1] == quick[-1] + 1)
    assert slow not in work.finished
    later = [tg.send("B") for _ in range(30)]
    await until(lambda: all(u in work.finished for u in later))
    gate.set()
    await until(lambda: slow in work.finished)
    await run.finish()
    assert set(tg.deliveries.values()) == {1}  # nothing came twice
    assert sum(work.calls.values()) == len(work.calls) == 34
    assert await inbox.pending() == ([], None)  # all handled, all forgotten


async def test_what_a_crash_interrupts_is_handled_first_at_the_next_start(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox, work, tg = committing(sessionmaker)
    first = Run(tg, inbox)
    held = tg.send("A")
    work.hold(held)
    behind = tg.send("A")  # the same chat: waits behind the held one
    other = tg.send("B")
    await until(lambda: other in work.committed and tg.offsets[-1] == other + 1)
    await first.crash()
    assert work.calls[held] == 1 and work.calls[behind] == 0  # cut short, never started
    assert tg.pending == []  # Telegram has let them go: only the inbox has them
    crashed_at = len(work.events)

    work.hold(held).set()  # the next life's work on it goes through
    second = Run(tg, inbox)
    new = tg.send("A")
    await until(lambda: new in work.finished)
    await second.finish()
    starts = [u for event, u in work.events[crashed_at:] if event == "start"]
    assert starts == [held, behind, new]  # the inbox first, in the chat's order
    assert work.calls[other] == 1  # handled before the crash: not again
    assert await inbox.pending() == ([], None)


async def test_a_batch_that_cannot_be_stored_is_not_taken_in_until_it_is(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime import polling

    monkeypatch.setattr(polling, "ERROR_BACKOFF_SECONDS", (0.01,))
    inbox = WatchedInbox(sessionmaker, "telegram")
    inbox.failures = 2
    work = Work()
    tg = InboxTelegram(work, inbox)
    run = Run(tg, inbox)
    update_id = tg.send("A")
    await until(lambda: update_id in work.finished)
    await run.finish()
    assert tg.deliveries[update_id] == 3  # fetched again after each failed store
    assert work.calls[update_id] == 1
    assert tg.offsets[:3] == [None, None, None]  # never confirmed before it was stored


async def test_an_update_the_database_keeps_refusing_waits_in_the_inbox_for_the_next_start(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime import polling

    monkeypatch.setattr(polling, "PROCESS_RETRY_SECONDS", (0.01, 0.01))
    inbox, work, tg = committing(sessionmaker)
    first = Run(tg, inbox)
    refused = tg.send("A")
    work.fail.add(refused)  # every try fails, as while the database is away
    after = tg.send("A")
    other = tg.send("B")
    await until(lambda: {after, other} <= work.committed)
    assert work.calls[refused] == 3  # tried again before the chat went on
    await first.finish()
    assert tg.pending == []  # confirmed to Telegram: only the inbox has it now
    pending, _ = await inbox.pending()
    assert [update_id for update_id, _ in pending] == [refused]

    work.fail.clear()  # the database is back
    second = Run(tg, inbox)
    await until(lambda: refused in work.committed)
    await second.finish()
    assert work.calls[refused] == 4 and work.calls[after] == work.calls[other] == 1
    assert await inbox.pending() == ([], None)


async def test_stopping_ends_the_retries_and_keeps_the_update(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    inbox, work, tg = committing(sessionmaker)
    run = Run(tg, inbox)
    refused = tg.send("A")
    work.fail.add(refused)
    await until(lambda: work.calls[refused] == 1)
    await run.finish()  # at once, not after the pauses between tries (half a second on)
    assert work.calls[refused] == 1
    pending, _ = await inbox.pending()
    assert [update_id for update_id, _ in pending] == [refused]
