"""The Zalo channel as ``bot.app`` runs it, beside Telegram or alone.

It shares the core's dispatcher and outbox sender (the Zalo transport joins the
sender's transports; the other transports are wrapped so Zalo photos reach them as
uploads); it has its own send limiter, update worker and ordered intake, and receives
by long polling or, with ``zalo.webhook_url``, by webhook.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

from bot.config import Settings
from bot.runtime.channel import Core
from bot.runtime.intake import OrderedIntake
from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.polling import poll
from bot.runtime.worker import UpdateWorker
from bot.zalo import CHANNEL
from bot.zalo.adapter import ZaloAdapter
from bot.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.zalo.files import ForeignFiles
from bot.zalo.transport import ZaloTransport
from bot.zalo.webhook import ZaloWebhookServer
from handlers.events import Incoming

log = logging.getLogger(__name__)

READY_LOG = "zalo: receiving"


def make_api(settings: Settings) -> ZaloApi:
    zalo = settings.zalo
    return ZaloApi(zalo.token.strip(), zalo.api_base, request_timeout=zalo.request_timeout)


def make_zalo_limiter(settings: Settings) -> SendLimiter:
    zalo = settings.zalo
    per_chat = Rate(zalo.send_per_chat_per_second, burst=max(zalo.send_per_chat_burst, 1))
    return SendLimiter(
        global_rate=Rate(zalo.send_global_per_second), private_rate=per_chat, group_rate=per_chat
    )


class ZaloChannel:
    """Zalo, by long polling or by webhook; a :class:`~bot.runtime.channel.Channel`.

    ``alone``: the only channel (no Telegram token), which then says when the bot started.
    """

    name = CHANNEL

    def __init__(self, settings: Settings, *, alone: bool = False) -> None:
        self.settings = settings
        self.alone = alone
        self.bot_name = ""
        self.api = make_api(settings)
        self.limiter = make_zalo_limiter(settings)
        self.intake = OrderedIntake(settings.runtime.max_in_flight)
        self.webhook: ZaloWebhookServer | None = None
        self.adapter: ZaloAdapter | None = None
        self.transport: ZaloTransport | None = None
        self._core: Core | None = None
        self._worker: UpdateWorker | None = None

    async def _on_incoming(self, incoming: Incoming) -> None:
        assert self._worker is not None  # updates come only once start() made it
        await self._worker(incoming)

    async def start(self, core: Core) -> None:
        self._core = core
        zalo, api = self.settings.zalo, self.api
        adapter = self.adapter = ZaloAdapter(
            api, core.sessionmaker, catalogue=core.catalogue, wake=core.sender.wake
        )
        transport = self.transport = ZaloTransport(
            api, core.sessionmaker, core.catalogue, limiter=self.limiter
        )
        for key, other in list(core.transports.items()):
            if key != CHANNEL and not isinstance(other, ForeignFiles):
                core.transports[key] = ForeignFiles(
                    other,
                    api,
                    core.sessionmaker,
                    max_bytes=int(zalo.max_photo_mb * 1024 * 1024),
                    directory=_scratch(self.settings),
                )
        core.transports[CHANNEL] = transport
        self.bot_name = await adapter.start(self._on_incoming)
        self._worker = core.worker(self.bot_name, transport)
        if zalo.webhook_url:
            server = ZaloWebhookServer(
                adapter.wrap,
                self.intake,
                adapter.process,
                secret=zalo.webhook_secret,
                host=zalo.webhook_listen,
                port=zalo.webhook_port,
                path=zalo.webhook_path,
            )
            await server.start()
            self.webhook = server
            await api.set_webhook(zalo.webhook_url, zalo.webhook_secret)
            log.info("%s (webhook on %s) as %s", READY_LOG, server.local_url, self.bot_name)
            return
        try:
            await api.delete_webhook()  # getUpdates answers nothing while a webhook is set
        except (ZaloApiError, ZaloNetworkError) as exc:
            log.warning("zalo: could not clear the webhook (%s)", type(exc).__name__)

    async def run(self) -> None:
        core, adapter = self._core, self.adapter
        assert core is not None and adapter is not None, "run() after start()"
        if self.alone:
            log.info("zalo only: started in %.2f s", time.monotonic() - core.started_at)
        if self.webhook is not None:
            await core.stop.wait()
            await self.webhook.stop()
            await self.intake.drain()
            return

        def first_fetch() -> None:
            log.info("%s (long polling) as %s", READY_LOG, self.bot_name)

        await poll(
            adapter,
            self.intake,
            adapter.process,
            core.stop,
            timeout=self.settings.zalo.polling_timeout,
            on_first_fetch=first_fetch,
        )
        # Zalo gave the open poll's update to us alone: handle it before leaving.
        for update in await adapter.finish_open_poll():
            work = partial(adapter.process, update)
            await self.intake.submit(update.update_id, update.chat_key, work)
        await self.intake.drain()

    async def close(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()  # a no-op unless starting failed after it listened
        await self.limiter.close()
        await self.api.close()


def _scratch(settings: Settings) -> Path:
    """Where a Zalo photo waits while it is uploaded to another messenger."""
    path = Path(settings.reports.directory)
    path.mkdir(parents=True, exist_ok=True)
    return path
