"""The Zalo Bot API face of the stand-in: ``/bot<TOKEN>/<method>``, as documented.

Every call is answered ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code":
N, "description": "…"}`` (HTTP status N). Implemented: getMe, getUpdates (long poll,
one update per call, taken off the queue as it is delivered; 408 when the poll runs
out), setWebhook / deleteWebhook / getWebhookInfo (delivery: ``webhook.py``),
sendMessage and sendPhoto (text and caption 1-2000 characters, counted in UTF-16
units), sendSticker, sendChatAction. Anything else is 404.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from standins.zalo.state import JSONDict, Webhook, World, ZMessage

TOKEN = re.compile(r"^(\d{1,20}):([A-Za-z0-9_-]{8,128})$")
MAX_TEXT = 2000
SECRET_CHARS = (8, 256)
CHAT_ACTIONS = frozenset({"typing", "upload_photo"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        data: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS


Method = Callable[[JSONDict], Awaitable[Any]]


class BotApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.methods: dict[str, Method] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendSticker": self.send_sticker,
            "sendChatAction": self.send_chat_action,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        world = self.world
        token, name = request.match_info["token"], request.match_info["method"]
        try:
            self._check_token(token)
            method = self.methods.get(name)
            if method is None:
                raise ApiError(404, f"Not Found: method {name} does not exist")
            params = await _params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.code)
        chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), str) else None
        call = world.record_call(name, params, chat_id)
        polling = name == "getUpdates"
        if not polling:
            world.calls_in_flight += 1
        started = time.monotonic()
        try:
            fault = world.take_fault(name, chat_id)
            if fault is not None:
                call.fault = fault.id
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                raise ApiError(fault.error_code, fault.description, fault.retry_after)
            result = await method(params)
            body: JSONDict = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        finally:
            if not polling:
                world.calls_in_flight -= 1
                world.last_call_activity = time.monotonic()
        call.status, call.response, call.duration = status, body, time.monotonic() - started
        world.changed()
        return web.json_response(body, status=status)

    def _check_token(self, token: str) -> None:
        match = TOKEN.match(token)
        if match is None:
            raise ApiError(401, "Unauthorized")
        if self.world.bot_id is None:
            self.world.bot_id = match.group(1)
        elif match.group(1) != self.world.bot_id:
            raise ApiError(401, "Unauthorized")

    # ---------------------------------------------------------------- methods

    async def get_me(self, params: JSONDict) -> JSONDict:
        config = self.world.config
        return {
            "id": self.world.bot_id,
            "account_name": config.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def get_updates(self, params: JSONDict) -> JSONDict:
        world = self.world
        if world.webhook is not None:
            raise ApiError(409, "Conflict: getUpdates does not work while a webhook is set")
        timeout = _number(params.get("timeout"), default=30.0)
        timeout = min(max(timeout, 0.0), world.config.max_long_poll)
        found = await world.wait_until(
            lambda: bool(world.pending) or world.stopped or world.webhook is not None, timeout
        )
        if not found or not world.pending or world.webhook is not None:
            raise ApiError(408, "Request timeout: no update")
        world.delivered_count += 1
        return world.pending.popleft()

    async def set_webhook(self, params: JSONDict) -> JSONDict:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: url must be an HTTPS URL")
        if not is_loopback_url(url):
            raise ApiError(400, "Bad Request: the stand-in only delivers to loopback addresses")
        low, high = SECRET_CHARS
        if not isinstance(secret, str) or not low <= len(secret) <= high:
            raise ApiError(400, f"Bad Request: secret_token must be {low}-{high} characters")
        self.world.webhook = Webhook(url, secret, self.world.now_ms())
        self.world.changed()
        return {"url": url, "updated_at": self.world.webhook.updated_at}

    async def delete_webhook(self, params: JSONDict) -> JSONDict:
        self.world.webhook = None
        self.world.changed()
        return {"url": "", "updated_at": self.world.now_ms()}

    async def get_webhook_info(self, params: JSONDict) -> JSONDict:
        hook = self.world.webhook
        return {
            "url": hook.url if hook else "",
            "updated_at": hook.updated_at if hook else self.world.now_ms(),
        }

    async def send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "Bad Request: text is required")
        _check_length("text", text)
        return self._sent(ZMessage(0, "", chat_id, True, "", 0, "text", text=text))

    async def send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        photo, caption = params.get("photo"), params.get("caption")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: photo must be the URL of an image")
        if caption is not None and not isinstance(caption, str):
            raise ApiError(400, "Bad Request: caption must be a string")
        if caption:
            _check_length("caption", caption)
        message = ZMessage(0, "", chat_id, True, "", 0, "photo", caption=caption or None)
        message.photo_url = photo
        return self._sent(message)

    async def send_sticker(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise ApiError(400, "Bad Request: sticker is required")
        return self._sent(ZMessage(0, "", chat_id, True, "", 0, "sticker", sticker=sticker))

    async def send_chat_action(self, params: JSONDict) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: action must be typing or upload_photo")
        return True

    def _chat(self, params: JSONDict) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "Bad Request: chat_id is required")
        user = self.world.users.get(chat_id)
        if user is None or not user.started:
            raise ApiError(400, "Bad Request: chat not found")
        if user.blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        return chat_id

    def _sent(self, message: ZMessage) -> JSONDict:
        world = self.world
        message.seq = world.next_seq()
        message.message_id = world.new_message_id()
        message.sender_id = world.bot_id or ""
        message.date = world.now_ms()
        world.add_message(message)
        return {"message_id": message.message_id, "date": message.date}


def _check_length(name: str, text: str) -> None:
    if not 1 <= utf16_len(text) <= MAX_TEXT:
        raise ApiError(400, f"Bad Request: {name} must be 1-{MAX_TEXT} characters")


def _number(value: Any, *, default: float) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: timeout must be a number") from None


async def _params(request: web.Request) -> JSONDict:
    params: JSONDict = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        raw = await request.read()
        if raw.strip():
            if request.content_type == "application/json":
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request: the body is not JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: the body must be a JSON object")
                params.update(body)
            else:
                post = await request.post()
                params.update({k: v for k, v in post.items() if isinstance(v, str)})
    return params
