"""Ordered intake: one chat's updates in order, different chats at once, fairly.

Each chat with updates to handle has one runner, which takes its updates one after
another; a runner holds one of the ``max_in_flight`` slots only while it handles an
update, and queues again for the next. So a chat's backlog never holds more than one
slot, and a chat with a thousand updates waiting takes turns with the others instead
of filling the bot: the waiting updates are entries in a queue, not tasks or slots
(with long polling they are also stored in the inbox, so a crash loses none).

It also knows which update ids are still being handled, so the polling loop
confirms an offset only past updates whose work has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Updates taken in but not yet done, per slot, before ``submit`` waits: a bound on
# memory (a queue entry is small) that a flood reaches only when its updates cannot
# even be dropped as fast as they arrive.
WAITING_PER_SLOT = 64

#: When the update being handled reached the bot (``time.monotonic()``); None for one
#: an earlier run stored and this one takes in again (its arrival is long past).
_ARRIVED: ContextVar[float | None] = ContextVar("arrived", default=None)


def arrived_at() -> float | None:
    """When the update this task is handling arrived (see :data:`_ARRIVED`)."""
    return _ARRIVED.get()


@dataclass(slots=True)
class _Entry:
    update_id: int
    work: Callable[[], Awaitable[None]]
    arrived: float | None


class OrderedIntake:
    def __init__(self, max_in_flight: int, *, max_waiting: int | None = None) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_waiting = max_waiting or max_in_flight * WAITING_PER_SLOT
        self._queues: dict[str, deque[_Entry]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._highest: int | None = None
        self._progress = asyncio.Event()
        self._stopping = False
        self.handling = 0  # updates holding a slot right now

    def seen(self, update_id: int) -> bool:
        """Already taken in (Telegram redelivers unconfirmed updates on every poll)."""
        return self._highest is not None and update_id <= self._highest

    @property
    def offset(self) -> int | None:
        """The getUpdates offset that confirms exactly the updates that are done."""
        if self._in_flight:
            return min(self._in_flight)
        return None if self._highest is None else self._highest + 1

    @property
    def highest(self) -> int | None:
        """The highest update id taken in so far."""
        return self._highest

    def taken_through(self, update_id: int) -> None:
        """Count every update up to ``update_id`` as taken in (the inbox already had them)."""
        self._highest = update_id if self._highest is None else max(self._highest, update_id)

    @property
    def in_flight(self) -> int:
        """Updates taken in and not yet done (waiting or being handled)."""
        return len(self._in_flight)

    def waiting(self, chat_key: str) -> int:
        """Updates of ``chat_key`` taken in and not yet started."""
        queue = self._queues.get(chat_key)
        return len(queue) if queue else 0

    async def submit(
        self,
        update_id: int,
        chat_key: str,
        work: Callable[[], Awaitable[None]],
        *,
        fresh: bool = True,
    ) -> None:
        """Queue ``work`` behind the chat's earlier updates.

        Returns at once, unless very many updates wait already (``max_waiting``).
        ``fresh``: the update arrives now (False: an earlier run stored it).
        """
        while len(self._in_flight) >= self._max_waiting:
            await self.wait_progress(1.0)
        self._in_flight.add(update_id)
        self._highest = update_id if self._highest is None else max(self._highest, update_id)
        entry = _Entry(update_id, work, time.monotonic() if fresh else None)
        queue = self._queues.get(chat_key)
        if queue is not None:
            queue.append(entry)
            return
        self._queues[chat_key] = deque([entry])
        self._runners[chat_key] = asyncio.create_task(self._run_chat(chat_key))

    async def _run_chat(self, chat_key: str) -> None:
        """Handle the chat's updates in order, taking a slot for each in turn."""
        queue = self._queues[chat_key]
        try:
            while queue:
                # Let the other chats take their turn, even when the work never waited.
                await asyncio.sleep(0)
                entry = queue.popleft()
                done = False
                async with self._slots:
                    self.handling += 1
                    token = _ARRIVED.set(entry.arrived)
                    try:
                        done = await self._until_done(entry.work, entry.update_id)
                    finally:
                        _ARRIVED.reset(token)
                        self.handling -= 1
                        if done:
                            self._in_flight.discard(entry.update_id)
                        # Otherwise it stays in flight, so the offset never passes it:
                        # Telegram delivers it again after the restart.
                        self._progress.set()
        finally:
            del self._queues[chat_key]
            del self._runners[chat_key]
            self._progress.set()

    async def _until_done(self, work: Callable[[], Awaitable[None]], update_id: int) -> bool:
        """Run the work until it succeeds; True once it has, False if we are stopping.

        Work that raises has committed nothing (the worker already retried and set
        poisoned updates aside), so the usual cause is the database being away: try
        again after a pause, keeping the chat's order, and never confirm it undone.
        """
        failures = 0
        while True:
            try:
                await work()
                return True
            except Exception as exc:
                log.warning(
                    "update %s failed (%s); it stays unconfirmed", update_id, type(exc).__name__
                )
            if self._stopping:
                return False
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    async def wait_progress(self, timeout: float) -> None:
        """Wait until some update finishes (or ``timeout``), instead of polling hot."""
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)

    async def drain(self) -> None:
        """Let every update already taken in finish (used on shutdown).

        Work that keeps failing is not waited for: it stays unconfirmed.
        """
        self._stopping = True
        while self._runners:
            await asyncio.gather(*list(self._runners.values()), return_exceptions=True)
