"""Webhook delivery, the way Telegram does it.

While a webhook is set, every queued update is POSTed to it as JSON (the Update object), with
``X-Telegram-Bot-Api-Secret-Token`` when setWebhook gave a secret token:

* updates of one chat go one at a time and in order: the next is sent only once the previous
  one was answered 2xx; updates of different chats go at once, at most ``max_connections``
  requests in flight;
* a 2xx answer confirms (removes) the update; any other answer, a broken connection or no
  answer within ``timeout`` leaves it queued. It is tried again after ``retry_delay``, doubling
  with every failure up to ``retry_max_delay`` (a ``Retry-After`` header on the answer is
  honoured instead), and the chat's later updates wait behind it. getWebhookInfo reports the
  last failure as Telegram words it.

With load-balancer targets (``StandinConfig.webhook_targets``, ``POST /_control/webhook/targets``)
the setWebhook URL is the public one and every request goes to one of the targets in turn, as
a proxy with health checks would send it: a target that refuses the connection is skipped for
``target_cooldown`` seconds and the request goes on at once to the next one; a target that
closes the connection without answering becomes the proxy's ``502 Bad Gateway``, as does a
request every target refused. Either way Telegram retries it later, possibly elsewhere.

Every request is logged in ``World.deliveries`` (``GET /_control/webhook/deliveries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import time
from dataclasses import dataclass

import aiohttp

from standins.telegram.models import UpdateRecord
from standins.telegram.state import WebhookSettings, World

LOGGER = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How Telegram's getWebhookInfo words what went wrong.
CONNECTION_REFUSED = "Connection refused"
READ_TIMEOUT = "Read timeout expired"
CONNECTION_CLOSED = "Webhook connection closed"
WRONG_RESPONSE = "Wrong response from the webhook: {status} {reason}"
# Telegram never waits longer than this for a Retry-After.
MAX_RETRY_AFTER = 3600

# What keeps an update in line: its chat's id, or (for updates about no chat) its own id.
OrderKey = int | tuple[str, int]


def update_chat_id(update: UpdateRecord) -> int | None:
    """The chat an update belongs to (a callback query: the chat of the pressed message)."""
    payload = update.payload
    for holder in (payload, payload.get("message")):
        if isinstance(holder, dict):
            chat = holder.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
    for field in ("from", "user"):
        sender = payload.get(field)
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])  # a private chat's id is its user's id
    return None


def order_key(update: UpdateRecord) -> OrderKey:
    chat_id = update_chat_id(update)
    return ("update", update.update_id) if chat_id is None else chat_id


@dataclass
class _Backoff:
    """How one update has fared so far."""

    attempts: int = 0
    next_at: float = 0.0  # time.monotonic() of the next attempt


@dataclass
class _Answer:
    """How one request (or, through the load balancer, one attempt) ended."""

    status: int | None = None
    error: str | None = None
    refused: bool = False  # no connection was made: the load balancer may try elsewhere
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDelivery:
    """The delivery loop of one stand-in; ``start()`` in its event loop, ``await stop()``."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._busy: dict[OrderKey, int] = {}  # order key -> the update id in flight
        self._backoff: dict[int, _Backoff] = {}  # update id -> its attempts so far
        self._turn = 0  # round-robin position among the targets
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        if self._task is not None:
            return
        # No pool limit of its own: max_connections bounds the requests in flight.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.world.add_listener(self._wake)
        self.world.updates.listeners.append(self._wake)
        self._task = asyncio.create_task(self._run(), name="standin-webhook")

    async def stop(self) -> None:
        self.world.remove_listener(self._wake)
        with contextlib.suppress(ValueError):
            self.world.updates.listeners.remove(self._wake)
        tasks = [t for t in (self._task, *self._requests) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._requests.clear()
        self._busy.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                pause = self._dispatch()
            except Exception:  # a stand-in bug; keep delivering what can be delivered
                LOGGER.exception("the Telegram stand-in's webhook delivery failed")
                pause = 1.0
            if pause is None:
                await self._wakeup.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), pause)

    def _dispatch(self) -> float | None:
        """Start every request that may start now; seconds until a retry is due (None: none)."""
        world = self.world
        hook = world.webhook
        if hook is None:
            self._backoff.clear()
            return None
        pending = world.updates.pending()
        queued = {update.update_id for update in pending}
        for update_id in [u for u in self._backoff if u not in queued]:
            del self._backoff[update_id]
        now = time.monotonic()
        pause: float | None = None
        seen: set[OrderKey] = set()
        for update in pending:
            if len(self._busy) >= hook.max_connections:
                break
            key = order_key(update)
            if key in seen:
                continue  # an earlier update of this chat is still queued
            seen.add(key)
            if key in self._busy:
                continue
            backoff = self._backoff.setdefault(update.update_id, _Backoff())
            if backoff.next_at > now:
                wait = backoff.next_at - now
                pause = wait if pause is None else min(pause, wait)
                continue
            self._busy[key] = update.update_id
            task = asyncio.create_task(self._deliver(hook, update, key, backoff))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
        return pause

    async def _deliver(
        self, hook: WebhookSettings, update: UpdateRecord, key: OrderKey, backoff: _Backoff
    ) -> None:
        world = self.world
        backoff.attempts += 1
        world.deliveries_in_flight += 1
        try:
            answer = await self._attempt(hook, update, key, backoff.attempts)
        except Exception:  # a stand-in bug: count it as a failed attempt
            LOGGER.exception("the Telegram stand-in failed to deliver update %s", update.update_id)
            answer = _Answer(error="stand-in error")
        finally:
            world.deliveries_in_flight -= 1
            world.last_call_activity = time.monotonic()
            self._busy.pop(key, None)
        if answer.ok:
            self._backoff.pop(update.update_id, None)
            if world.updates.remove(update.update_id):
                world.updates.delivered_count += 1
        else:
            world.webhook_error(answer.error or "")
            timing = world.webhook_timing
            if answer.retry_after is not None:
                pause = float(min(answer.retry_after, MAX_RETRY_AFTER))
            else:
                doubling = 2 ** min(backoff.attempts - 1, 32)
                pause = min(timing.retry_delay * doubling, timing.retry_max_delay)
            backoff.next_at = time.monotonic() + pause
        world.changed()

    async def _attempt(
        self, hook: WebhookSettings, update: UpdateRecord, key: OrderKey, attempt: int
    ) -> _Answer:
        """One of Telegram's attempts at an update: one request, or a few through the balancer."""
        body = json.dumps(update.to_json(), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        chat_id = key if isinstance(key, int) else None

        async def post(target: str) -> _Answer:
            world = self.world
            record = world.record_delivery(update.update_id, chat_id, attempt, hook.url, target)
            try:
                answer = await self._post(target, body, headers)
            except asyncio.CancelledError:
                record.finished, record.error = time.time(), "the stand-in stopped"
                raise
            record.finished = time.time()
            record.status, record.error = answer.status, answer.error
            record.retry_after = answer.retry_after
            return answer

        targets = list(self.world.webhook_targets)
        if not targets:
            return await post(hook.url)
        tried: set[str] = set()
        while (target := self._pick(targets, tried)) is not None:
            tried.add(target)
            answer = await post(target)
            if answer.refused:
                cooldown = self.world.webhook_timing.target_cooldown
                self.world.targets_down[target] = time.monotonic() + cooldown
                continue
            self.world.targets_down.pop(target, None)
            if answer.status is None and answer.error == CONNECTION_CLOSED:
                break  # the proxy's upstream went away mid-request
            return answer
        return _Answer(status=502, error=WRONG_RESPONSE.format(status=502, reason="Bad Gateway"))

    def _pick(self, targets: list[str], tried: set[str]) -> str | None:
        """The next target in turn that is up and not yet tried for this request."""
        down = self.world.targets_down
        now = time.monotonic()
        for offset in range(len(targets)):
            target = targets[(self._turn + offset) % len(targets)]
            if target not in tried and down.get(target, 0.0) <= now:
                self._turn = (self._turn + offset + 1) % len(targets)
                return target
        if tried:
            return None
        # Every target is resting: try the one that comes back first, as a proxy would.
        return min(targets, key=lambda target: down.get(target, 0.0))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> _Answer:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self.world.webhook_timing.timeout)
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()
                status, reason = response.status, response.reason or ""
                retry_after = _seconds(response.headers.get("Retry-After"))
        except TimeoutError:
            return _Answer(error=READ_TIMEOUT)
        except aiohttp.ClientConnectorError as error:
            refused = error.os_error.errno == errno.ECONNREFUSED
            message = CONNECTION_REFUSED if refused else (error.os_error.strerror or str(error))
            return _Answer(error=message, refused=True)
        except (aiohttp.ClientError, OSError):
            return _Answer(error=CONNECTION_CLOSED)
        if 200 <= status < 300:
            return _Answer(status=status)
        return _Answer(
            status=status,
            error=WRONG_RESPONSE.format(status=status, reason=reason),
            retry_after=retry_after,
        )


def _seconds(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
