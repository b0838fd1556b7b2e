"""What ``bot.app`` calls: the Zalo channel beside Telegram, or Zalo alone.

:func:`start_zalo` adds Zalo to a running bot: it shares the dispatcher, the outbox
sender (the Zalo transport joins its ``transports``; the other transports are wrapped
so Zalo photos reach them as uploads) and the limiter; it has its own update worker
and ordered intake, and receives by long polling (a task beside Telegram's loop,
stopping on the same event) or by webhook. :func:`run_zalo_only` is ``run_bot`` for a
process with a Zalo token and no Telegram token.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.runtime import heap
from bot.runtime.intake import OrderedIntake
from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.polling import poll
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from bot.runtime.worker import UpdateWorker
from bot.zalo import CHANNEL
from bot.zalo.adapter import ZaloAdapter
from bot.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.zalo.files import ForeignFiles
from bot.zalo.transport import ZaloTransport
from bot.zalo.webhook import ZaloWebhookServer
from handlers.context import BotInfo
from handlers.dispatch import Dispatcher
from handlers.events import Incoming
from handlers.i18n import Catalogue

log = logging.getLogger(__name__)

READY_LOG = "zalo: receiving"


def zalo_active(settings: Settings) -> bool:
    return settings.zalo.active


def make_api(settings: Settings) -> ZaloApi:
    zalo = settings.zalo
    return ZaloApi(zalo.token.strip(), zalo.api_base, request_timeout=zalo.request_timeout)


def make_zalo_limiter(settings: Settings) -> SendLimiter:
    zalo = settings.zalo
    per_chat = Rate(zalo.send_per_chat_per_second, burst=max(zalo.send_per_chat_burst, 1))
    return SendLimiter(
        global_rate=Rate(zalo.send_global_per_second), private_rate=per_chat, group_rate=per_chat
    )


@dataclass
class ZaloChannel:
    """The running Zalo channel; :meth:`stop` once the bot's stop event is set."""

    adapter: ZaloAdapter
    transport: ZaloTransport
    intake: OrderedIntake
    limiter: SendLimiter
    name: str
    polling: asyncio.Task[None] | None = None
    webhook: ZaloWebhookServer | None = None
    worker: UpdateWorker | None = field(default=None, repr=False)

    async def stop(self) -> None:
        try:
            if self.polling is not None:
                await self.polling  # ends by itself once the stop event is set
                # Zalo gave the open poll's update to us alone: handle it before leaving.
                for update in await self.adapter.finish_open_poll():
                    work = partial(self.adapter.process, update)
                    await self.intake.submit(update.update_id, update.chat_key, work)
                await self.intake.drain()
            if self.webhook is not None:
                await self.webhook.stop()
                await self.intake.drain()
        finally:
            await self.limiter.close()
            await self.adapter.close()


async def start_zalo(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    transports: dict[str, Transport],
    stop: asyncio.Event,
    dispatcher: Dispatcher | None = None,
) -> ZaloChannel | None:
    """Start receiving from Zalo, if it is configured; None when it is not."""
    if not zalo_active(settings):
        return None
    zalo = settings.zalo
    api = make_api(settings)
    adapter = ZaloAdapter(api, sessionmaker, catalogue=catalogue, wake=sender.wake)
    limiter = make_zalo_limiter(settings)
    transport = ZaloTransport(api, sessionmaker, catalogue, limiter=limiter)
    for key, other in list(transports.items()):
        if key != CHANNEL and not isinstance(other, ForeignFiles):
            transports[key] = ForeignFiles(
                other,
                api,
                sessionmaker,
                max_bytes=int(zalo.max_photo_mb * 1024 * 1024),
                directory=_scratch(settings),
            )
    transports[CHANNEL] = transport
    holder: dict[str, UpdateWorker] = {}

    async def on_incoming(incoming: Incoming) -> None:
        await holder["worker"](incoming)

    try:
        name = await adapter.start(on_incoming)
    except (ZaloApiError, ZaloNetworkError):
        await limiter.close()
        await adapter.close()
        raise
    dispatcher = dispatcher or Dispatcher(
        sessionmaker, catalogue, BotInfo(username=name), instance=sender.instance
    )
    from bot.app import make_worker

    worker = make_worker(settings, dispatcher, sender, transport)
    holder["worker"] = worker
    intake = OrderedIntake(settings.runtime.max_in_flight)
    channel = ZaloChannel(adapter, transport, intake, limiter, name, worker=worker)
    if zalo.webhook_url:
        server = ZaloWebhookServer(
            adapter.wrap,
            intake,
            adapter.process,
            secret=zalo.webhook_secret,
            host=zalo.webhook_listen,
            port=zalo.webhook_port,
            path=zalo.webhook_path,
        )
        await server.start()
        channel.webhook = server
        try:
            await api.set_webhook(zalo.webhook_url, zalo.webhook_secret)
        except BaseException:
            await channel.stop()
            raise
        log.info("%s (webhook on %s) as %s", READY_LOG, server.local_url, name)
        return channel
    try:
        await api.delete_webhook()  # getUpdates answers nothing while a webhook is set
    except (ZaloApiError, ZaloNetworkError) as exc:
        log.warning("zalo: could not clear the webhook (%s)", type(exc).__name__)

    def first_fetch() -> None:
        log.info("%s (long polling) as %s", READY_LOG, name)

    channel.polling = asyncio.create_task(
        poll(
            adapter,
            intake,
            adapter.process,
            stop,
            timeout=zalo.polling_timeout,
            on_first_fetch=first_fetch,
        ),
        name="zalo-polling",
    )
    return channel


def _scratch(settings: Settings) -> Path:
    """Where a Zalo photo waits while it is uploaded to another messenger."""
    path = Path(settings.reports.directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def run_zalo_only(
    settings: Settings, *, started_at: float | None = None, stop: asyncio.Event | None = None
) -> None:
    """``run_bot`` for Zalo alone: the same runtime, no Telegram."""
    from bot.app import (
        SENDER_STOP_SECONDS,
        SchemaNotReady,
        make_limiter,
        prune_periodically,
        remind_periodically,
        report_periodically,
        stop_periodic,
    )
    from storage.db import create_engine, create_sessionmaker
    from storage.schema import check_schema

    started_at = time.monotonic() if started_at is None else started_at
    engine = create_engine(settings.database.url)
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
        )
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        try:
            channel = await start_zalo(
                settings,
                sessionmaker=sessionmaker,
                catalogue=catalogue,
                sender=sender,
                transports=transports,
                stop=stop,
            )
            if channel is None:
                raise RuntimeError("Zalo is not configured (zalo.enabled and zalo.token)")
            heap.settle()
            log.info("zalo only: started in %.2f s", time.monotonic() - started_at)
            tasks = [
                asyncio.create_task(sender.run(), name="outbox-sender"),
                asyncio.create_task(
                    remind_periodically(settings, sessionmaker, catalogue, sender, stop),
                    name="reminders",
                ),
                asyncio.create_task(
                    report_periodically(settings, sessionmaker, catalogue, sender, stop),
                    name="reports",
                ),
                asyncio.create_task(
                    prune_periodically(settings, sessionmaker, stop), name="retention"
                ),
            ]
            await stop.wait()
            await channel.stop()
            await stop_periodic(tasks[1:])
            sender.stop()
            try:
                await asyncio.wait_for(tasks[0], SENDER_STOP_SECONDS)
            except TimeoutError:
                log.warning("the outbox sender did not stop in time; unsent messages stay queued")
        finally:
            await limiter.close()
    finally:
        await engine.dispose()
