"""Putting the stand-in on a loopback port: the aiohttp application and its lifetime."""

from __future__ import annotations

import ipaddress
from types import TracebackType
from typing import Self

from aiohttp import web

from standins.telegram.botapi import BotApi
from standins.telegram.client import StandinClient
from standins.telegram.config import StandinConfig
from standins.telegram.control import ControlApi
from standins.telegram.spec import BotApiSpec
from standins.telegram.state import World
from standins.telegram.webhook import WebhookDelivery, is_loopback_url

# Telegram takes uploads of up to 50 MB.
MAX_REQUEST_BYTES = 50 * 1024 * 1024 + 64 * 1024


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StandinServer:
    """The stand-in Bot API server, started in the current event loop.

    ``async with StandinServer(port=0) as server:`` picks a free port; point a bot at
    ``server.base_url`` and drive it with ``server.client()``. ``server.world`` is the state
    itself, for tests that want to look inside.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: StandinConfig | None = None,
        spec: BotApiSpec | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the stand-in only listens on loopback addresses, not {host!r}")
        for target in config.webhook_targets if config else ():
            if not is_loopback_url(target):
                raise ValueError(
                    f"the stand-in only delivers webhooks to loopback URLs, not {target!r}"
                )
        self.host = host
        self.port = port
        self.world = World(config)
        self.delivery = WebhookDelivery(self.world)
        self.spec = spec or BotApiSpec.default()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What a bot uses as its Bot API server: ``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.add_routes(ControlApi(self.world, lambda: self.base_url).routes())
        app.add_routes(BotApi(self.world, self.spec).routes())
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        self.delivery.start()

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.delivery.stop()
        self.world.updates.stop_polling()
        self.world.changed()
        await self._runner.cleanup()
        self._runner = None

    def client(self) -> StandinClient:
        return StandinClient(self.base_url)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
