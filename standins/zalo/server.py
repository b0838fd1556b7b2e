"""Putting the Zalo stand-in on a loopback port (``standins.core.server``)."""

from __future__ import annotations

from typing import ClassVar

from aiohttp import web

from standins.core.server import LoopbackServer
from standins.zalo.botapi import BotApi
from standins.zalo.client import ZaloStandinClient
from standins.zalo.control import ControlApi
from standins.zalo.delivery import WebhookDelivery
from standins.zalo.state import StandinConfig, World

MAX_REQUEST_BYTES = 1024 * 1024


class ZaloStandinServer(LoopbackServer):
    """``async with ZaloStandinServer() as server:`` — a free port; point the bot's
    ``zalo.api_base`` at ``server.base_url`` and act as people with ``server.client()``."""

    max_request_bytes: ClassVar[int] = MAX_REQUEST_BYTES

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, config: StandinConfig | None = None
    ) -> None:
        super().__init__(host, port)
        self.world = World(config)
        self.delivery = WebhookDelivery(self.world)

    def routes(self) -> list[web.RouteDef]:
        control = ControlApi(self.world, lambda: self.base_url).routes()
        return [*control, *BotApi(self.world).routes()]

    def started(self) -> None:
        self.world.stopped = False
        self.delivery.start()

    async def stopping(self) -> None:
        self.world.stopped = True
        self.world.changed()
        await self.delivery.stop()

    def client(self) -> ZaloStandinClient:
        return ZaloStandinClient(self.base_url)
