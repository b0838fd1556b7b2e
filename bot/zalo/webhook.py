"""Receiving from Zalo by webhook: a small aiohttp server.

Zalo POSTs each update (the update object itself, or wrapped as getUpdates' answer)
to the URL given to ``setWebhook``, with the secret in ``X-Bot-Api-Secret-Token``.
A request without the right secret gets 401 and is never read. An update goes
through the same ordered intake as polled ones, and the answer (200) is given only
once its work has committed, so a redelivery after an error or a timeout finds it
in ``processed_updates`` and does nothing twice.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import RawUpdate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024
ANSWER_WITHIN_SECONDS = 50.0


class ZaloWebhookServer:
    def __init__(
        self,
        wrap: Callable[[Any], RawUpdate],
        intake: OrderedIntake,
        process: Callable[[RawUpdate], Awaitable[None]],
        *,
        secret: str,
        host: str,
        port: int,
        path: str,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs its secret token")
        self._wrap = wrap
        self._intake = intake
        self._process = process
        self._secret = secret.encode()
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else f"/{path}"
        self._runner: web.AppRunner | None = None
        self.received = 0

    @property
    def local_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "description": "not JSON"}, status=400)
        self.received += 1
        raw = self._wrap(data)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def work() -> None:
            try:
                await self._process(raw)
            except Exception as exc:
                log.exception("zalo webhook update %s failed", raw.update_id)
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(None)

        await self._intake.submit(raw.update_id, raw.chat_key, work)
        try:
            await asyncio.wait_for(asyncio.shield(done), ANSWER_WITHIN_SECONDS)
        except Exception:
            # Not committed (yet): an error lets Zalo deliver it again; a redelivery of
            # work that did commit meanwhile is found in processed_updates.
            done.add_done_callback(_retrieve)
            return web.json_response({"ok": False, "description": "try again"}, status=500)
        return web.json_response({"ok": True})


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
