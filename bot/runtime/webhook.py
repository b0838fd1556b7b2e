"""Receiving updates by webhook: a small aiohttp server, the same for every messenger.

The messenger POSTs each update to the URL given to its ``setWebhook``, with a secret
in a header (Telegram: ``X-Telegram-Bot-Api-Secret-Token``, Zalo:
``X-Bot-Api-Secret-Token``). A request without the right secret gets 401 and its body
is never read. An update goes through the same ordered intake as polled ones, and the
answer (200) is given only once its work has committed; an error or a timeout answers
500, so the messenger delivers it again, and the redelivery finds it in
``processed_updates`` and does nothing twice.

Telegram sends the next update of a chat only once the previous one was answered, so
answering after the commit also keeps each chat in order across several instances.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import RawUpdate

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
ANSWER_WITHIN_SECONDS = 50.0
# A flood of requests with a wrong secret is logged at most this often.
REFUSED_LOG_SECONDS = 60.0

# One request body (decoded JSON) as the intake takes it; None: nothing to do but say 200
# (a body that is not an update the messenger would ever send again correctly).
Wrap = Callable[[Any], RawUpdate | None]


class WebhookServer:
    """Takes updates POSTed to ``path`` and answers each once its work is done.

    ``wrap`` turns a body into a :class:`RawUpdate` (its id and chat key), ``process``
    does the work (the same as for a polled update). :meth:`stop` stops accepting,
    lets the updates already taken in finish (and their requests be answered), then
    closes; it drains ``intake``, which should be this server's alone.
    """

    def __init__(
        self,
        wrap: Wrap,
        intake: OrderedIntake,
        process: Callable[[RawUpdate], Awaitable[None]],
        *,
        secret: str,
        secret_header: str,
        host: str,
        port: int,
        path: str,
        name: str = "webhook",
        answer_within: float = ANSWER_WITHIN_SECONDS,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs its secret token")
        self._wrap = wrap
        self._intake = intake
        self._process = process
        self._secret = secret.encode()
        self.secret_header = secret_header
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else f"/{path}"
        self.name = name
        self.answer_within = answer_within
        self._runner: web.AppRunner | None = None
        self._accepting = False
        self.received = 0  # bodies taken in (right secret, JSON)
        self.refused = 0  # requests with a wrong or missing secret
        self._refused_logged_at: float | None = None
        # Servers whose paths this one's listener serves too (several bots, one port).
        self._mounted: dict[str, WebhookServer] = {}
        self._host: WebhookServer | None = None

    def mount(self, other: WebhookServer) -> None:
        """Serve ``other``'s path on this server's listener (its secret, intake and work
        stay its own); it may be mounted while this one listens already."""
        if other.path == self.path or other.path in self._mounted:
            raise ValueError(f"two webhooks on one path: {other.path}")
        other.host, other.port, other._host = self.host, self.port, self
        other._accepting = self._accepting
        self._mounted[other.path] = other

    @property
    def local_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: a free one, read back into ``port``)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.handle)
        app.router.add_post("/{tail:.*}", self._handle_mounted)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._accepting = True
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        for other in self._mounted.values():
            other.port, other._accepting = self.port, True

    async def _handle_mounted(self, request: web.Request) -> web.Response:
        other = self._mounted.get(request.path)
        if other is None:
            return web.json_response({"ok": False, "description": "Not Found"}, status=404)
        return await other.handle(request)

    async def stop(self) -> None:
        """Stop accepting, let what was taken in finish and be answered, then close."""
        runner = self._runner
        if runner is None:
            if self._host is not None:  # mounted: its host's listener closes
                self._accepting = False
                await self._intake.drain()
            return
        self._runner = None
        self._accepting = False
        for other in self._mounted.values():
            other._accepting = False
        for site in list(runner.sites):
            await site.stop()  # no new connections; open ones are answered 503 from now on
        try:
            drains = [s._intake.drain() for s in (self, *self._mounted.values())]
            await asyncio.gather(*drains)
        finally:
            await runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(self.secret_header, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            self._note_refused(request)
            return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
        if not self._accepting:
            # Stopping: the messenger delivers it again, to another instance or after restart.
            return web.json_response({"ok": False, "description": "stopping"}, status=503)
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "description": "not JSON"}, status=400)
        self.received += 1
        raw = self._wrap(data)
        if raw is None:
            return web.json_response({"ok": True})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieve)  # a failure after the answer is logged, not lost

        async def work() -> None:
            try:
                await self._process(raw)
            except Exception as exc:
                log.exception("%s webhook: update %s failed", self.name, raw.update_id)
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(None)

        await self._intake.submit(raw.update_id, raw.chat_key, work)
        try:
            await asyncio.wait_for(asyncio.shield(done), self.answer_within)
        except Exception:
            # Not committed (yet): an error lets the messenger deliver it again; a
            # redelivery of work that did commit meanwhile is found in processed_updates.
            return web.json_response({"ok": False, "description": "try again"}, status=500)
        return web.json_response({"ok": True})

    def _note_refused(self, request: web.Request) -> None:
        """Count a request with a wrong secret; say so now and then (never the secret)."""
        self.refused += 1
        now = time.monotonic()
        if self._refused_logged_at is None or now - self._refused_logged_at >= REFUSED_LOG_SECONDS:
            self._refused_logged_at = now
            log.warning(
                "%s webhook: a request with a wrong or missing secret refused (from %s; %d so far)",
                self.name,
                request.remote,
                self.refused,
            )


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
