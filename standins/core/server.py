"""Putting a stand-in on a loopback port: the aiohttp application and its lifetime."""

from __future__ import annotations

import ipaddress
from types import TracebackType
from typing import ClassVar, Self
from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """An http(s) URL whose host is a loopback address: the only kind the stand-in calls."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return is_loopback_host(parts.hostname)


class LoopbackServer:
    """A stand-in started in the current event loop, on a loopback address only.

    Subclasses give the routes and what runs beside the server (webhook delivery);
    ``port=0`` picks a free port, which ``start`` then records.
    """

    max_request_bytes: ClassVar[int]

    def __init__(self, host: str, port: int) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the stand-in only listens on loopback addresses, not {host!r}")
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What a bot uses as its API server: ``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_request_bytes)
        app.add_routes(self.routes())
        return app

    def started(self) -> None:
        """Called once the port is open."""

    async def stopping(self) -> None:
        """Called before the server closes."""

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
        self.started()

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.stopping()
        await self._runner.cleanup()
        self._runner = None

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
