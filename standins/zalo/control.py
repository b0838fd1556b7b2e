"""The Zalo stand-in's control API under ``/_control``: people write to the bot, tests
read what the bot sent and wait for it. JSON in and out; a refusal is
``{"error": "…"}`` with 400 / 404, a wait that runs out 408. Photos people send are
served at ``/media/<name>`` (their ``photo_url``), as Zalo serves them from its CDN.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from standins.core.control import DEFAULT_WAIT, MAX_WAIT, ControlError, Handler, control_routes
from standins.core.media import make_jpeg
from standins.zalo.state import JSONDict, World, ZMessage


class ControlApi:
    def __init__(self, world: World, base_url: Callable[[], str]) -> None:
        self.world = world
        self.base_url = base_url

    def routes(self) -> list[web.RouteDef]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/health", self.health),
            ("POST", "/reset", self.reset),
            ("GET", "/state", self.state),
            ("PUT", "/users/{user_id}", self.put_user),
            ("POST", "/users/{user_id}/blocked", self.block_user),
            ("POST", "/messages", self.send),
            ("GET", "/chats/{chat_id}/messages", self.chat_messages),
            ("POST", "/wait/messages", self.wait_messages),
            ("GET", "/calls", self.calls),
            ("POST", "/wait/calls", self.wait_calls),
            ("POST", "/wait/quiet", self.wait_quiet),
            ("GET", "/updates", self.updates),
            ("GET", "/faults", self.faults),
            ("POST", "/faults", self.add_faults),
            ("DELETE", "/faults", self.clear_faults),
        ]
        return [*control_routes(table), web.get("/media/{name}", self.media)]

    # ---------------------------------------------------------------- server

    async def health(self, request: web.Request) -> JSONDict:
        return {"ok": True, "base_url": self.base_url(), "bot_id": self.world.bot_id}

    async def reset(self, request: web.Request) -> JSONDict:
        self.world.reset()
        return {"ok": True}

    async def state(self, request: web.Request) -> JSONDict:
        world, hook = self.world, self.world.webhook
        return {
            "bot_id": world.bot_id,
            "webhook": {"url": hook.url, "updated_at": hook.updated_at} if hook else None,
            "pending": len(world.pending),
            "users": [u.to_json() for u in world.users.values()],
        }

    # ---------------------------------------------------------------- people

    async def put_user(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        name = body.get("display_name")
        return self.world.user(request.match_info["user_id"], _opt_str(name)).to_json()

    async def block_user(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        user = self.world.user(request.match_info["user_id"])
        user.blocked = bool(body.get("blocked", True))
        self.world.changed()
        return user.to_json()

    async def send(self, request: web.Request) -> JSONDict:
        """A person writes to the bot: text, a photo (with a caption), a sticker or else."""
        world = self.world
        body = await _body(request)
        user_id = body.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ControlError(400, "user_id (a string) is required")
        user = world.user(user_id, _opt_str(body.get("display_name")))
        user.started = True
        message = ZMessage(
            world.next_seq(), world.new_message_id(), user.id, False, user.id, world.now_ms(), ""
        )
        payload: JSONDict = {
            "from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
            "chat": {"id": user.id, "chat_type": "PRIVATE"},
            "message_id": message.message_id,
            "date": message.date,
        }
        if "text" in body:
            text = body["text"]
            if not isinstance(text, str) or not text:
                raise ControlError(400, "text must be a non-empty string")
            event, message.kind, message.text = "message.text.received", "text", text
            payload.update(text=text, message_type="CHAT_MESSAGE")
        elif "photo" in body:
            name = self._store_photo(body["photo"], message.message_id)
            message.kind, message.photo_url = "photo", f"{self.base_url()}/media/{name}"
            message.caption = _opt_str(body.get("caption"))
            event = "message.image.received"
            payload.update(
                photo_url=message.photo_url,
                caption=message.caption or "",
                message_type="CHAT_PHOTO",
            )
        elif "sticker" in body:
            message.kind, message.sticker = "sticker", str(body["sticker"] or "sticker")
            event = "message.sticker.received"
            payload.update(sticker=message.sticker, message_type="CHAT_STICKER")
        elif body.get("unsupported"):
            message.kind, event = "unsupported", "message.unsupported.received"
        else:
            raise ControlError(400, "one of text, photo, sticker, unsupported is required")
        update = {"event_name": event, "message": payload}
        world.add_message(message)
        world.push_update(update)
        return {"update": update, "message": message.view()}

    def _store_photo(self, spec: Any, message_id: str) -> str:
        spec = spec if isinstance(spec, dict) else {}
        if "base64" in spec:
            try:
                data = base64.b64decode(str(spec["base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ControlError(400, "photo.base64 is not base64") from None
            mime = str(spec.get("mime_type") or "image/jpeg")
        else:
            width, height = int(spec.get("width", 640)), int(spec.get("height", 480))
            data, mime = make_jpeg(width, height, int(spec.get("seed", 0))), "image/jpeg"
        name = f"{message_id}.jpg" if mime == "image/jpeg" else f"{message_id}.bin"
        self.world.media[name] = (data, mime)
        return name

    async def media(self, request: web.Request) -> web.Response:
        found = self.world.media.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        data, mime = found
        return web.Response(body=data, content_type=mime)

    # ---------------------------------------------------------------- reading

    async def chat_messages(self, request: web.Request) -> JSONDict:
        sender = request.query.get("sender", "bot")
        if sender not in ("bot", "user", "all"):
            raise ControlError(400, "sender must be bot, user or all")
        messages = self.world.chat_messages(request.match_info["chat_id"], sender)
        return {"messages": [m.view() for m in messages]}

    async def wait_messages(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        chat_id = str(body.get("chat_id") or "")
        count, after = int(body.get("count", 1)), int(body.get("after_seq", 0))
        world = self.world

        def found() -> list[ZMessage] | None:
            sent = [m for m in world.chat_messages(chat_id, "bot") if m.seq > after]
            return sent if len(sent) >= count else None

        result = await world.wait_until(found, _timeout(body))
        if result is None:
            sent = [m.view() for m in world.chat_messages(chat_id, "bot") if m.seq > after]
            raise ControlError(408, f"the bot sent {len(sent)} of {count}", {"messages": sent})
        return {"messages": [m.view() for m in result]}

    def _calls(
        self, method: str | None, chat_id: str | None, since: int, status: int | None = None
    ) -> list[JSONDict]:
        return [
            c.to_json()
            for c in self.world.calls
            if c.seq > since
            and c.response is not None
            and (method is None or c.method == method)
            and (chat_id is None or c.chat_id == chat_id)
            and (status is None or c.status == status)
        ]

    async def calls(self, request: web.Request) -> JSONDict:
        query = request.query
        since = int(query.get("since", 0))
        return {"calls": self._calls(query.get("method"), query.get("chat_id"), since)}

    async def wait_calls(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        method, chat_id = _opt_str(body.get("method")), _opt_str(body.get("chat_id"))
        since, count = int(body.get("since", 0)), int(body.get("count", 1))
        status = body.get("status")
        status = int(status) if status is not None else None

        def found() -> list[JSONDict] | None:
            calls = self._calls(method, chat_id, since, status)
            return calls if len(calls) >= count else None

        result = await self.world.wait_until(found, _timeout(body))
        if result is None:
            raise ControlError(
                408, "not enough calls", {"calls": self._calls(method, chat_id, since)}
            )
        return {"calls": result}

    async def wait_quiet(self, request: web.Request) -> JSONDict:
        """Returns once no call but getUpdates has run for ``quiet`` seconds."""
        body = await _body(request)
        quiet = float(body.get("quiet", 0.3))
        deadline = time.monotonic() + _timeout(body)
        world = self.world
        while True:
            idle = time.monotonic() - world.last_call_activity
            if world.calls_in_flight == 0 and idle >= quiet:
                return {"ok": True}
            if time.monotonic() >= deadline:
                raise ControlError(408, "the bot did not go quiet")
            await world.wait_change(min(max(quiet - idle, 0.02), deadline - time.monotonic()))

    async def updates(self, request: web.Request) -> JSONDict:
        world = self.world
        return {
            "pending": list(world.pending),
            "delivered_count": world.delivered_count,
            "deliveries": [d.to_json() for d in world.deliveries],
        }

    # ---------------------------------------------------------------- faults

    async def faults(self, request: web.Request) -> JSONDict:
        return {"rules": [r.to_json() for r in self.world.faults]}

    async def add_faults(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        rules = body.get("rules", [body])
        if not isinstance(rules, list):
            raise ControlError(400, "rules must be a list")
        allowed = {
            "method",
            "chat_id",
            "error_code",
            "description",
            "retry_after",
            "times",
            "skip",
            "delay",
        }
        added = []
        for rule in rules:
            if not isinstance(rule, dict) or set(rule) - allowed:
                raise ControlError(400, f"a rule takes only {sorted(allowed)}")
            added.append(self.world.add_fault(**rule).to_json())
        return {"rules": added}

    async def clear_faults(self, request: web.Request) -> JSONDict:
        self.world.faults.clear()
        return {"ok": True}


async def _body(request: web.Request) -> JSONDict:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _timeout(body: JSONDict) -> float:
    return min(max(float(body.get("timeout", DEFAULT_WAIT)), 0.0), MAX_WAIT)
