"""Ordered intake: one chat's updates in order, different chats at once.

It also knows which update ids are still being handled, so the polling loop
confirms an offset only past updates whose work has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class OrderedIntake:
    def __init__(self, max_in_flight: int) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._highest: int | None = None
        self._progress = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

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
        return len(self._in_flight)

    async def submit(
        self, update_id: int, chat_key: str, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Queue ``work`` behind the chat's earlier updates; waits when too many are open."""
        await self._slots.acquire()
        self._in_flight.add(update_id)
        self._highest = update_id if self._highest is None else max(self._highest, update_id)
        previous = self._tails.get(chat_key)
        task = asyncio.create_task(self._run(previous, work, update_id, chat_key))
        self._tails[chat_key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        previous: asyncio.Task[None] | None,
        work: Callable[[], Awaitable[None]],
        update_id: int,
        chat_key: str,
    ) -> None:
        done = False
        try:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(previous)
            done = await self._until_done(work, update_id)
        finally:
            if done:
                self._in_flight.discard(update_id)
            # Otherwise it stays in flight, so the offset never passes it: Telegram
            # delivers it again after the restart.
            self._slots.release()
            if self._tails.get(chat_key) is asyncio.current_task():
                del self._tails[chat_key]
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
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
