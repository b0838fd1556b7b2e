"""Webhook delivery: while a webhook is set, queued updates are POSTed to it, in order.

Each update is sent as the update object itself, with the secret in the
``X-Bot-Api-Secret-Token`` header; an answer outside 2xx (or none) is retried after
the configured pauses, and after the last attempt the update is dropped. Only
loopback URLs are ever accepted (``setWebhook`` refuses others).
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from standins.zalo.state import Delivery, World

SECRET_HEADER = "X-Bot-Api-Secret-Token"
IDLE_WAIT = 3600.0


class WebhookDelivery:
    def __init__(self, world: World) -> None:
        self.world = world
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="zalo-standin-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        world = self.world
        async with aiohttp.ClientSession() as session:
            while not world.stopped:
                await world.wait_until(
                    lambda: world.stopped or (world.webhook is not None and bool(world.pending)),
                    IDLE_WAIT,
                )
                if world.stopped or world.webhook is None or not world.pending:
                    continue
                await self._deliver_first(session)

    async def _deliver_first(self, session: aiohttp.ClientSession) -> None:
        world = self.world
        hook, update = world.webhook, world.pending[0]
        assert hook is not None
        config = world.config
        message = update.get("message") or {}
        delivered = False
        for attempt in range(1, max(config.webhook_attempts, 1) + 1):
            status: int | None = None
            try:
                async with session.post(
                    hook.url,
                    json=update,
                    headers={SECRET_HEADER: hook.secret_token},
                    timeout=aiohttp.ClientTimeout(total=config.webhook_timeout),
                ) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = None
            delivered = status is not None and 200 <= status < 300
            last = attempt >= config.webhook_attempts
            world.deliveries.append(
                Delivery(
                    world.next_seq(),
                    str(update.get("event_name", "")),
                    str(message.get("message_id", "")),
                    attempt,
                    status,
                    dropped=not delivered and last,
                )
            )
            world.changed()
            if delivered or last or world.webhook is not hook:
                break
            delays = config.webhook_retry_delays
            await asyncio.sleep(delays[min(attempt - 1, len(delays) - 1)] if delays else 0.5)
        if world.pending and world.pending[0] is update and (delivered or world.webhook is hook):
            world.pending.popleft()
            world.delivered_count += 1 if delivered else 0
            world.changed()
