"""The send limiter against Telegram's own model of its limits (the stand-in's buckets)."""

from __future__ import annotations

import asyncio
import time

from bot.runtime.limiter import Rate, SendLimiter
from standins.telegram.limits import FloodLimiter, LimitsConfig

GLOBAL = 40.0
PRIVATE = 10.0
BURST = 3


def refused(sent: list[tuple[float, str]]) -> int:
    """How many of these sends (time, chat) Telegram would have answered with 429."""
    now = [0.0]
    flood = FloodLimiter(
        config=LimitsConfig(
            enabled=True,
            global_per_second=GLOBAL,
            global_burst=int(GLOBAL),
            private_per_second=PRIVATE,
            private_burst=BURST,
        ),
        clock=lambda: now[0],
    )
    chats: dict[str, int] = {}
    for at, chat in sorted(sent):
        now[0] = at
        flood.admit(chats.setdefault(chat, len(chats) + 1), is_group=False)
    return flood.refused


def limiter() -> SendLimiter:
    return SendLimiter(
        global_rate=Rate(GLOBAL),
        private_rate=Rate(PRIVATE, burst=BURST),
        group_rate=Rate(20 / 60, burst=BURST),
    )


async def test_a_chat_behind_a_crowded_queue_gets_no_burst_telegram_would_refuse() -> None:
    """Urgent messages to 60 chats hold the bot-wide queue while three senders feed one
    chat: however late its messages get through, they keep the chat's spacing."""
    lim = limiter()
    sent: list[tuple[float, str]] = []

    async def send(chat: str, priority: int) -> None:
        await lim.acquire(chat, group=False, priority=priority)
        sent.append((time.monotonic(), chat))

    async def chain() -> None:
        for _ in range(6):
            await send("busy", 5)

    async def crowd() -> None:
        for wave in range(3):
            await asyncio.gather(*(send(f"c{wave}-{n}", 0) for n in range(20)))

    try:
        await asyncio.gather(chain(), chain(), chain(), crowd())
    finally:
        await lim.close()
    assert len(sent) == 18 + 60
    assert refused(sent) == 0


async def test_the_bot_wide_rate_holds_and_urgent_messages_go_first() -> None:
    lim = limiter()
    order: list[str] = []

    async def send(chat: str, priority: int) -> None:
        await lim.acquire(chat, group=False, priority=priority)
        order.append(chat)

    started = time.monotonic()
    try:
        bulk = [asyncio.create_task(send(f"bulk{n}", 9)) for n in range(40)]
        await asyncio.sleep(0.1)
        await send("reply", 0)
        await asyncio.gather(*bulk)
    finally:
        await lim.close()
    elapsed = time.monotonic() - started
    assert order.index("reply") < 10  # ahead of most of the bulk queued before it
    assert elapsed >= 40 / GLOBAL * 0.95  # 41 messages at 40 a second


async def test_after_retry_after_the_chat_waits_that_long() -> None:
    lim = limiter()
    try:
        await lim.acquire("x", group=False, priority=0)
        lim.pause_chat("x", 0.3)
        started = time.monotonic()
        await lim.acquire("x", group=False, priority=0)
        assert time.monotonic() - started >= 0.29
        started = time.monotonic()
        await lim.acquire("y", group=False, priority=0)  # other chats are not held up
        assert time.monotonic() - started < 0.2
    finally:
        await lim.close()
