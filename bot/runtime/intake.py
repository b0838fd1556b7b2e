"""Ordered intake: one chat's updates in order, different chats at once.

It also knows which update ids are still being handled, so the polling loop
confirms an offset only past updates whose work has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class OrderedIntake:
    def __init__(self, max_in_flight: int) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._highest: int | None = None
        self._progress = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

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
        try:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            await work()
        finally:
            self._in_flight.discard(update_id)
            self._slots.release()
            if self._tails.get(chat_key) is asyncio.current_task():
                del self._tails[chat_key]
            self._progress.set()

    async def wait_progress(self, timeout: float) -> None:
        """Wait until some update finishes (or ``timeout``), instead of polling hot."""
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)

    async def drain(self) -> None:
        """Let every update already taken in finish (used on shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
