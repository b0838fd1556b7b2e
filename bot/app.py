"""The composition root: builds the core once, runs the configured channels until a
signal, then stops everything in order.

The core (bot.runtime.channel.Core) is the database, the catalogue, the outbox sender
and the stop event; beside the channels run the periodic passes (bot.runtime.periodic).
The channels are Telegram (by long polling, or by webhook with ``webhook=True``) and
Zalo (by long polling or webhook, ``zalo.*``), in any combination the configuration
enables, Zalo alone included.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings
from bot.runtime import heap
from bot.runtime.channel import Channel, Core
from bot.runtime.limiter import Rate, SendLimiter, SharedSendLimiter
from bot.runtime.periodic import start_periodic, stop_periodic
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from bot.telegram.channel import TelegramChannel
from bot.telegram.constants import CHANNEL
from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.schema import check_schema

log = logging.getLogger(__name__)

SENDER_STOP_SECONDS = 10.0


class SchemaNotReady(RuntimeError):
    """The database is not at this version's schema; the message says what to run."""


def make_limiter(
    settings: Settings, engine: AsyncEngine | None = None, *, route: str = CHANNEL
) -> SendLimiter:
    """The send limiter of one bot token (``route``); on PostgreSQL (several instances may
    share the database) its slots are reserved in the database, so the limits hold for
    the bot as a whole."""
    limits = settings.send_limits
    global_rate = Rate(limits.global_per_second, burst=limits.reply_burst)
    private_rate = Rate(limits.private_per_second, burst=limits.private_burst)
    group_rate = Rate(limits.group_per_minute / 60.0, burst=limits.private_burst)
    # Paid broadcasting (announcements only) gets its own rate, and only when enabled.
    paid = Rate(limits.paid_per_second) if limits.allow_paid_broadcast else None
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedSendLimiter(
            engine,
            global_rate=global_rate,
            private_rate=private_rate,
            group_rate=group_rate,
            paid_rate=paid,
            bot="bot" if route == CHANNEL else f"bot:{route}",
        )
    return SendLimiter(
        global_rate=global_rate, private_rate=private_rate, group_rate=group_rate, paid_rate=paid
    )


def channels_for(settings: Settings, *, webhook: bool = False) -> list[Channel]:
    """The channels to run, in the order they start: Telegram first (its bot's name is
    the one invite links carry), then Zalo; Zalo alone without a Telegram token (issue #9)."""
    channels: list[Channel] = []
    if settings.telegram.token or not settings.zalo.active:
        main = TelegramChannel(settings, webhook=webhook)
        channels.append(main)
        # Each further bot of the deployment (issue #22): a route of its own, its webhook
        # on the main bot's listener.
        for bot in settings.telegram.bots if settings.telegram.token else ():
            channels.append(TelegramChannel(settings, webhook=webhook, bot=bot, host=main))
    if settings.zalo.active:
        # Imported only when Zalo is on: its modules cost about 9 MB and 0.1 s at start
        # (docs/BENCHMARKS.md).
        from bot.zalo.channel import ZaloChannel

        channels.append(ZaloChannel(settings, alone=not channels))
    return channels


async def run_bot(
    settings: Settings,
    *,
    webhook: bool = False,
    started_at: float | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT or SIGTERM (or ``stop``), then finish the updates in hand and stop.

    ``webhook``: receive Telegram's updates by webhook (``telegram.webhook_*``) instead of
    long polling.
    """
    started_at = time.monotonic() if started_at is None else started_at
    if webhook:
        problem = settings.telegram.webhook_problem()
        if problem is not None:
            raise ConfigError(problem)
    # Updates and sending: many short transactions, run on the event loop's thread on
    # SQLite. Reminders, digests and reports read much more at a time: their own
    # engine keeps aiosqlite's worker thread, so that they never hold up the loop.
    engine = create_engine(settings.database.url, sqlite_inline=True)
    background = create_engine(settings.database.url) if engine.dialect.name == "sqlite" else engine
    try:
        status = await check_schema(engine)
        if not status.ok:
            raise SchemaNotReady(status.message)
        sessionmaker = create_sessionmaker(engine)
        catalogue = Catalogue.load()
        limiter = make_limiter(settings, engine)
        transports: dict[str, Transport] = {}
        sender = OutboxSender(
            sessionmaker,
            transports,
            limiter,
            max_attempts=settings.runtime.send_max_attempts,
            catalogue=catalogue,
            instance=settings.runtime.instance_name,
            # Telegram's limits hold per bot token: each further bot has a limiter of its own.
            limiters={
                bot.route: make_limiter(settings, engine, route=bot.route)
                for bot in settings.telegram.bots
            },
        )
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        core = Core(settings, sessionmaker, catalogue, sender, transports, stop, started_at)
        reader = create_sessionmaker(background)
        channels = channels_for(settings, webhook=webhook)
        if settings.web.enabled:
            # aiohttp's server, imported only when the dashboard is on; it starts first,
            # so the flows' /dashboard links know the address it listens on.
            from bot.web.channel import WebChannel

            channels.insert(0, WebChannel(settings, reader))
        opened: list[Channel] = []
        try:
            for channel in channels:
                opened.append(channel)
                await channel.start(core)
            await _run(core, channels, reader)
        finally:
            for channel in reversed(opened):
                await channel.close()
            await limiter.close()
            for each in sender.limiters.values():
                await each.close()
    finally:
        await engine.dispose()
        if background is not engine:
            await background.dispose()


async def _run(
    core: Core, channels: Sequence[Channel], background: async_sessionmaker[AsyncSession]
) -> None:
    """Run the started channels beside the sender and the periodic passes (on
    ``background``) until the stop event; then the channels let the updates in hand
    finish, the sender ends its round between two messages while the passes finish
    theirs: what either leaves queued goes at the next start (issue 16)."""
    sender = core.sender
    sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
    # Receiving starts before the periodic passes: the first poll goes out before the first
    # reminder pass loads the holiday calendar (about 11 MB and 0.3 s on the loop).
    runs = [asyncio.create_task(c.run(), name=f"{c.name}-receiving") for c in channels]
    periodic = start_periodic(core.settings, background, core.catalogue, sender, core.stop)
    heap.settle()  # the start-up heap out of every later full collection
    stopped = asyncio.create_task(core.stop.wait())
    tasks = [sender_task, *periodic, *runs, stopped]
    try:
        # A channel stops receiving only at the stop, unless it failed: then all stop.
        await asyncio.wait([*runs, stopped], return_when=asyncio.FIRST_COMPLETED)
        core.stop.set()
        ended = await asyncio.gather(*runs, return_exceptions=True)
        log.info("stopping: %d updates handled", sum(w.handled for w in core.workers))
        sender.stop()
        await stop_periodic(periodic)
        try:
            await asyncio.wait_for(sender_task, SENDER_STOP_SECONDS)
        except TimeoutError:
            log.warning("the outbox sender did not stop in time; unsent messages stay queued")
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome
    finally:
        # Only when cut short (run_bot cancelled, say): nothing may outlive the engines.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
