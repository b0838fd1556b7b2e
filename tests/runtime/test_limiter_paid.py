"""Paid broadcasting (issue #19): announcements go faster only when the operator enabled it.

Checked against the stand-in's model of Telegram's limits: paid messages pass the paid
bucket instead of the bot-wide 30 a second; unpaid ones are held to it.
"""

from __future__ import annotations

import asyncio
import time

from bot.runtime.limiter import Rate, SendLimiter
from standins.telegram.limits import FloodLimiter, LimitsConfig

GLOBAL, PAID = 30.0, 1000.0
CHATS = 120


def limiter(paid: bool) -> SendLimiter:
    return SendLimiter(
        global_rate=Rate(GLOBAL),
        private_rate=Rate(1.0, burst=3),
        group_rate=Rate(20 / 60, burst=3),
        paid_rate=Rate(PAID) if paid else None,
    )


def refused(sent: list[tuple[float, int, bool]]) -> int:
    """How many of these sends (time, chat, paid) Telegram would answer with 429."""
    now = [0.0]
    flood = FloodLimiter(config=LimitsConfig(enabled=True), clock=lambda: now[0])
    for at, chat, paid in sorted(sent):
        now[0] = at
        flood.admit(chat, is_group=False, paid=paid)
    return flood.refused


async def broadcast(lim: SendLimiter, *, close: bool = True) -> list[tuple[float, int, bool]]:
    sent: list[tuple[float, int, bool]] = []

    async def one(chat: int) -> None:
        await lim.acquire(f"telegram:{chat}", group=False, priority=9, paid=True)
        sent.append((time.monotonic(), chat, True))

    await asyncio.gather(*(one(chat) for chat in range(CHATS)))
    if close:
        await lim.close()
    return sent


async def test_paid_announcements_pass_the_free_rate_only_when_enabled() -> None:
    fast = await broadcast(limiter(paid=True))
    slow = await broadcast(limiter(paid=False))
    fast_span = max(t for t, _, _ in fast) - min(t for t, _, _ in fast)
    slow_span = max(t for t, _, _ in slow) - min(t for t, _, _ in slow)
    # 120 messages: about 0.12 s at 1,000 a second; about 4 s held to 30 a second.
    assert fast_span < 1.0 < slow_span
    assert refused(fast) == 0
    # Sent as unpaid, the same messages would not have passed Telegram's 30 a second...
    assert refused([(t, chat, False) for t, chat, _ in fast]) > 0
    # ...and without paid broadcasting the limiter keeps them within it.
    assert refused([(t, chat, False) for t, chat, _ in slow]) == 0


async def test_replies_keep_the_free_rate_beside_a_paid_broadcast() -> None:
    lim = limiter(paid=True)
    sent: list[tuple[float, int, bool]] = []

    async def reply(chat: int) -> None:
        await lim.acquire(f"telegram:{chat}", group=False, priority=0)
        sent.append((time.monotonic(), chat, False))

    replies = asyncio.gather(*(reply(10_000 + n) for n in range(45)))
    sent += await broadcast(lim, close=False)
    await replies
    await lim.close()
    assert refused(sent) == 0
    times = sorted(t for t, chat, _ in sent if chat >= 10_000)
    assert times[-1] - times[0] > 0.4  # 45 replies at 30 a second (a burst of 30 first)
