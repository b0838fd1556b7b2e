"""Putting the Telegram stand-in on a loopback port (``standins.core.server``)."""

from __future__ import annotations

from typing import ClassVar

from aiohttp import web

from standins.core.server import LoopbackServer, is_loopback_url
from standins.telegram.botapi import BotApi
from standins.telegram.client import StandinClient
from standins.telegram.config import StandinConfig
from standins.telegram.control import ControlApi
from standins.telegram.spec import BotApiSpec
from standins.telegram.state import World
from standins.telegram.webhook import WebhookDelivery

# Telegram takes uploads of up to 50 MB.
MAX_REQUEST_BYTES = 50 * 1024 * 1024 + 64 * 1024


class StandinServer(LoopbackServer):
    """The stand-in Bot API server, started in the current event loop.

    ``async with StandinServer(port=0) as server:`` picks a free port; point a bot at
    ``server.base_url`` and drive it with ``server.client()``. ``server.world`` is the state
    itself, for tests that want to look inside.
    """

    max_request_bytes: ClassVar[int] = MAX_REQUEST_BYTES

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: StandinConfig | None = None,
        spec: BotApiSpec | None = None,
    ) -> None:
        super().__init__(host, port)
        for target in config.webhook_targets if config else ():
            if not is_loopback_url(target):
                raise ValueError(
                    f"the stand-in only delivers webhooks to loopback URLs, not {target!r}"
                )
        self.world = World(config)
        self.delivery = WebhookDelivery(self.world)
        self.spec = spec or BotApiSpec.default()

    def routes(self) -> list[web.RouteDef]:
        control = ControlApi(self.world, lambda: self.base_url).routes()
        return [*control, *BotApi(self.world, self.spec).routes()]

    def started(self) -> None:
        self.delivery.start()

    async def stopping(self) -> None:
        await self.delivery.stop()
        self.world.updates.stop_polling()
        self.world.changed()

    def client(self) -> StandinClient:
        return StandinClient(self.base_url)
