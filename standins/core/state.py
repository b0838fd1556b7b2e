"""What both stand-ins' state does alike: waking whatever waits for it to change (long
polls, control-API waits, webhook delivery), the Bot API call counters, bounded logs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The call log keeps this many of the newest entries; sequence numbers keep counting.
MAX_LOGGED_CALLS = 20_000


def append_bounded(log: list[R], record: R, limit: int) -> R:
    """Append ``record``, dropping the oldest entries beyond ``limit``."""
    log.append(record)
    if len(log) > limit:
        del log[: len(log) - limit]
    return record


class WatchedState:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self._listeners: list[Callable[[], None]] = []
        # Bot API calls other than the long poll: how many are running, and when one last ended.
        self.calls_in_flight = 0
        self.last_call_activity = time.monotonic()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously) at every change."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        """Wake everything waiting for the state to change."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        for listener in list(self._listeners):
            listener()

    async def wait_change(self, timeout: float) -> None:
        """Return at the next change, or after ``timeout`` seconds."""
        if timeout <= 0:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def wait_until(self, check: Callable[[], T | None], timeout: float) -> T | None:
        """Return ``check()``'s first truthy value, re-checking after every change."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await self.wait_change(remaining)
