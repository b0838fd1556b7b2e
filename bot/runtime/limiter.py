"""One send limiter for the whole bot, keeping Telegram's flood limits.

Each chat gets a GCRA bucket (about one message a second in a private chat with a
small burst, twenty a minute in a group); the bot as a whole is held to its global
rate by a single pump that hands out send slots in priority order, so a reply to
the person typing goes ahead of queued notifications, digests and announcements.
The global rate's small burst (``send_limits.reply_burst``) is never used by bulk
messages, so during a long announcement a reply still finds a slot free at once.

With Telegram Stars paid broadcasting enabled (``send_limits.allow_paid_broadcast``),
announcements sent with ``allow_paid_broadcast`` take their bot-wide slot from a
separate, faster rate (``paid_rate``) instead: Telegram does not count them against
the free 30 a second, which stays the replies' own. Without it they queue with the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.context import PRIORITY_BULK
from storage.instances import chat_wait, forget_idle_slots, reserve_slot, take_slot

log = logging.getLogger(__name__)

# Slots are spaced a hair wider than the nominal rate, so timer jitter never lets
# N+1 sends fall into one window that Telegram counts.
SAFETY_FACTOR = 1.01
IDLE_CHAT_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return SAFETY_FACTOR / self.per_second

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


class SendLimiter:
    def __init__(
        self,
        *,
        global_rate: Rate,
        private_rate: Rate,
        group_rate: Rate,
        paid_rate: Rate | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._global = global_rate
        self._paid = paid_rate
        self._paid_tat = 0.0
        self._private = private_rate
        self._group = group_rate
        self._clock = clock
        self._global_tat = 0.0
        self._chat_tat: dict[str, float] = {}
        self._paused: dict[str, float] = {}  # chat -> until when Telegram asked us to wait
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._wakeup = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.waited_seconds = 0.0

    async def acquire(
        self,
        chat_id: str,
        *,
        group: bool,
        priority: int,
        new_message: bool = True,
        paid: bool = False,
    ) -> None:
        """Wait until a message may go to ``chat_id``; lower ``priority`` goes first.

        An edit of a message already in the chat (``new_message=False``) counts
        against the bot's global rate only: the per-chat limits are about new
        messages, and a form that turns its question in place must stay snappy.
        A ``paid`` broadcast takes the paid rate's slot instead of the global one,
        when the limiter has a paid rate (else it is an ordinary message).
        """
        started = self._clock()
        rate = self._group if group else self._private
        while True:
            if new_message:
                # Wait until the chat could take a message, without taking its slot yet:
                # the slot is taken once the bot-wide slot is ours too, right before the
                # send. Taken earlier, a message held up in the global queue would reach
                # Telegram late, and the chat's next ones, on time, in a burst with it.
                wait = await self._chat_wait(chat_id, rate)
                if wait > 0:
                    await asyncio.sleep(wait)
            if paid and self._paid is not None:
                await self._paid_slot(self._paid)
            else:
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                heapq.heappush(self._waiters, (priority, next(self._sequence), future))
                self._ensure_pump()
                self._wakeup.set()
                await future
            if not new_message or await self._take_chat_slot(chat_id, rate):
                break
            # Another sender took the chat's slot meanwhile: this global slot goes unused.
        self.waited_seconds += self._clock() - started

    async def _paid_slot(self, rate: Rate) -> None:
        """The next paid-broadcast slot (a GCRA of its own, beside the global pump)."""
        now = self._clock()
        tat = max(self._paid_tat, now)
        self._paid_tat = tat + rate.interval
        delay = max(tat - rate.tolerance - now, await self._shared_paid_delay(rate))
        if delay > 0:
            await asyncio.sleep(delay)

    async def _shared_paid_delay(self, rate: Rate) -> float:
        """The wait for the paid slot other processes share (none for one process)."""
        return 0.0

    def pause_chat(self, chat_id: str, seconds: float) -> None:
        """Telegram said "retry after N": nothing more goes to that chat for N seconds."""
        until = self._clock() + seconds
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)

    def pause_all(self, seconds: float) -> None:
        self._global_tat = max(self._global_tat, self._clock() + seconds)
        self._wakeup.set()

    async def _chat_wait(self, chat_id: str, rate: Rate) -> float:
        """How long until the chat may take a message (0: now); reserves nothing."""
        return self._local_chat_wait(chat_id, rate)

    async def _take_chat_slot(self, chat_id: str, rate: Rate) -> bool:
        """Take the chat's slot if it may take a message now."""
        return self._take_local_chat_slot(chat_id, rate)

    def _local_chat_wait(self, chat_id: str, rate: Rate) -> float:
        now = self._clock()
        tat = self._chat_tat.get(chat_id, 0.0)
        paused = self._paused.get(chat_id, 0.0)
        return max(0.0, tat - rate.tolerance - now, paused - now)

    def _take_local_chat_slot(self, chat_id: str, rate: Rate) -> bool:
        now = self._clock()
        tat = max(self._chat_tat.get(chat_id, 0.0), now)
        if tat - rate.tolerance > now or self._paused.get(chat_id, 0.0) > now:
            return False
        self._chat_tat[chat_id] = tat + rate.interval
        if len(self._chat_tat) > 10_000:
            self._forget_idle_chats(now)
        return True

    def _forget_idle_chats(self, now: float) -> None:
        stale = [c for c, tat in self._chat_tat.items() if tat < now - IDLE_CHAT_SECONDS]
        for chat in stale:
            del self._chat_tat[chat]
        for chat in [c for c, until in self._paused.items() if until < now]:
            del self._paused[chat]

    def _ensure_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="send-limiter")

    async def _run_pump(self) -> None:
        while True:
            while not self._waiters:
                self._wakeup.clear()
                await self._wakeup.wait()
            now = self._clock()
            # Bulk messages (announcements) go at the steady rate only and never use the
            # burst: it stays free for a reply that comes meanwhile, which then goes at
            # once instead of waiting for the next slot (docs/BENCHMARKS.md).
            bulk = self._waiters[0][0] >= PRIORITY_BULK
            delay = self._global_tat - (0.0 if bulk else self._global.tolerance) - now
            if delay > 0:
                self._wakeup.clear()
                # Wait, but look again when a message arrives (a reply may go now where
                # the bulk message at the head of the queue may not) or a pause moves
                # the slot.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)
                continue
            _, _, future = heapq.heappop(self._waiters)
            if future.cancelled():
                continue
            self._global_tat = max(self._global_tat, now) + self._global.interval
            shared_delay = await self._shared_global_delay()
            if shared_delay > 0:
                await asyncio.sleep(shared_delay)
            if not future.cancelled():
                future.set_result(None)

    async def _shared_global_delay(self) -> float:
        """The wait for the bot-wide slot other processes share (none for one process)."""
        return 0.0

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


class SharedSendLimiter(SendLimiter):
    """The same limiter for several bot processes on one PostgreSQL database.

    Each process still orders its own waiters by priority, but every slot, the
    bot's and each chat's, is reserved in ``send_slots`` with one atomic upsert on
    the database clock, so the limits hold for the bot as a whole. A failed
    reservation (the database away for a moment) waits one interval and goes on:
    sending stays possible, at this process's local pace.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        global_rate: Rate,
        private_rate: Rate,
        group_rate: Rate,
        paid_rate: Rate | None = None,
        clock: Callable[[], float] = time.monotonic,
        bot: str = "bot",
    ) -> None:
        super().__init__(
            global_rate=global_rate,
            private_rate=private_rate,
            group_rate=group_rate,
            paid_rate=paid_rate,
            clock=clock,
        )
        self._engine = engine
        # The key of the bot-wide slots: one per bot token (Telegram counts per bot).
        self._bot = bot
        self._next_cleanup = 0.0

    async def _chat_wait(self, chat_id: str, rate: Rate) -> float:
        local = self._local_chat_wait(chat_id, rate)  # keeps pause_chat() working
        try:
            shared = await chat_wait(self._engine, f"chat:{chat_id}", rate.tolerance)
        except Exception as exc:
            log.warning("shared send slot not read (%s)", type(exc).__name__)
            shared = rate.interval
        return max(local, shared)

    async def _take_chat_slot(self, chat_id: str, rate: Rate) -> bool:
        if self._local_chat_wait(chat_id, rate) > 0:
            return False
        try:
            taken = await take_slot(self._engine, f"chat:{chat_id}", rate.interval, rate.tolerance)
        except Exception as exc:
            log.warning("shared send slot not taken (%s)", type(exc).__name__)
            return False
        if taken:
            self._take_local_chat_slot(chat_id, rate)
        return taken

    async def _shared_global_delay(self) -> float:
        now = self._clock()
        if now >= self._next_cleanup:
            self._next_cleanup = now + IDLE_CHAT_SECONDS
            try:
                await forget_idle_slots(self._engine, IDLE_CHAT_SECONDS)
            except Exception as exc:
                log.warning("could not clean the shared send slots (%s)", type(exc).__name__)
        return await self._reserve(self._bot, self._global)

    async def _shared_paid_delay(self, rate: Rate) -> float:
        return await self._reserve(f"{self._bot}-paid", rate)

    async def _reserve(self, key: str, rate: Rate) -> float:
        try:
            return await reserve_slot(self._engine, key, rate.interval, rate.tolerance)
        except Exception as exc:
            log.warning("shared send slot not reserved (%s)", type(exc).__name__)
            return rate.interval
