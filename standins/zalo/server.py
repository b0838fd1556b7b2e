"""Putting the Zalo stand-in on a loopback port, in the current event loop."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web

from standins.telegram.server import is_loopback_host
from standins.zalo.botapi import BotApi
from standins.zalo.client import ZaloStandinClient
from standins.zalo.control import ControlApi
from standins.zalo.delivery import WebhookDelivery
from standins.zalo.state import StandinConfig, World

MAX_REQUEST_BYTES = 1024 * 1024


class ZaloStandinServer:
    """``async with ZaloStandinServer() as server:`` — a free port; point the bot's
    ``zalo.api_base`` at ``server.base_url`` and act as people with ``server.client()``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, config: StandinConfig | None = None
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the stand-in only listens on loopback addresses, not {host!r}")
        self.host = host
        self.port = port
        self.world = World(config)
        self.delivery = WebhookDelivery(self.world)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.add_routes(ControlApi(self.world, lambda: self.base_url).routes())
        app.add_routes(BotApi(self.world).routes())
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        self.world.stopped = False
        self.delivery.start()

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.world.stopped = True
        self.world.changed()
        await self.delivery.stop()
        await self._runner.cleanup()
        self._runner = None

    def client(self) -> ZaloStandinClient:
        return ZaloStandinClient(self.base_url)

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
