"""The control API under ``/_control/``: how tests and the terminal chat act as people and
read what the bot did. JSON in, JSON out; errors are ``{"error": "..."}`` with a 4xx status.
See docs/STANDIN.md for the reference.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

import standins.telegram.simulate as simulate
from standins.core.server import is_loopback_url
from standins.telegram.files import StoredFile
from standins.telegram.models import CallRecord, JSONDict
from standins.telegram.render import chat_json, message_view, user_json
from standins.telegram.simulate import ControlError
from standins.telegram.state import DeliveryRecord, World

PREFIX = "/_control"
DEFAULT_WAIT = 10.0
MAX_WAIT = 300.0

_DUMPS = functools.partial(json.dumps, ensure_ascii=False)

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlApi:
    def __init__(self, world: World, base_url: Callable[[], str]) -> None:
        self.world = world
        self.base_url = base_url

    def routes(self) -> list[web.RouteDef]:
        table: list[tuple[str, str, Callable[[web.Request], Awaitable[Any]]]] = [
            ("GET", "/health", self.health),
            ("POST", "/reset", self.reset),
            ("GET", "/state", self.state),
            ("PUT", "/users/{user_id}", self.put_user),
            ("GET", "/users/{user_id}", self.get_user),
            ("POST", "/users/{user_id}/blocked", self.block_user),
            ("POST", "/groups", self.create_group),
            ("PATCH", "/groups/{chat_id}", self.update_group),
            ("PUT", "/groups/{chat_id}/members/{user_id}", self.set_member),
            ("POST", "/groups/{chat_id}/bot", self.set_bot_status),
            ("POST", "/start", self.start),
            ("POST", "/startgroup", self.startgroup),
            ("POST", "/messages", self.send),
            ("POST", "/edits", self.edit),
            ("POST", "/press", self.press),
            ("GET", "/chats/{chat_id}/messages", self.chat_messages),
            ("GET", "/chats/{chat_id}/messages/{message_id}", self.chat_message),
            ("GET", "/chats/{chat_id}/actions", self.chat_actions),
            ("GET", "/callback-answers", self.callback_answers),
            ("GET", "/commands", self.commands),
            ("GET", "/calls", self.calls),
            ("GET", "/updates", self.updates),
            ("GET", "/files/{file_id}", self.file_info),
            ("GET", "/files/{file_id}/content", self.file_content),
            ("POST", "/wait/messages", self.wait_messages),
            ("POST", "/wait/calls", self.wait_calls),
            ("POST", "/wait/quiet", self.wait_quiet),
            ("POST", "/wait/deliveries", self.wait_deliveries),
            ("GET", "/webhook", self.get_webhook),
            ("PATCH", "/webhook", self.patch_webhook),
            ("GET", "/webhook/targets", self.get_targets),
            ("POST", "/webhook/targets", self.set_targets),
            ("PUT", "/webhook/targets", self.set_targets),
            ("GET", "/webhook/deliveries", self.deliveries),
            ("GET", "/faults", self.get_faults),
            ("POST", "/faults", self.add_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("GET", "/limits", self.get_limits),
            ("PUT", "/limits", self.put_limits),
        ]
        return [web.route(verb, PREFIX + path, _guarded(handler)) for verb, path, handler in table]

    # Server -------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> JSONDict:
        return {"ok": True, "base_url": self.base_url(), "bot": self._bot()}

    async def reset(self, request: web.Request) -> JSONDict:
        self.world.reset()
        return {"ok": True}

    async def state(self, request: web.Request) -> JSONDict:
        world = self.world
        return {
            "bot": self._bot(),
            "webhook": asdict(world.webhook) if world.webhook else None,
            "allowed_updates": sorted(world.updates.allowed),
            "pending_updates": len(world.updates.pending()),
            "users": [self._user(user_id) for user_id in sorted(world.users)],
            "chats": [
                chat_json(world, chat) | {"bot_status": chat.bot_status}
                for chat in world.chats.values()
            ],
        }

    # People and groups --------------------------------------------------------------------

    async def put_user(self, request: web.Request) -> JSONDict:
        user_id = _int(request.match_info["user_id"], "user id")
        simulate.upsert_user(self.world, user_id, await _body(request))
        return self._user(user_id)

    async def get_user(self, request: web.Request) -> JSONDict:
        user_id = _int(request.match_info["user_id"], "user id")
        if user_id not in self.world.users:
            raise ControlError(404, f"no user {user_id}")
        return self._user(user_id)

    async def block_user(self, request: web.Request) -> JSONDict:
        user_id = _int(request.match_info["user_id"], "user id")
        body = await _body(request)
        simulate.set_blocked(self.world, user_id, bool(body.get("blocked", True)))
        return self._user(user_id)

    async def create_group(self, request: web.Request) -> JSONDict:
        chat = simulate.create_group(self.world, await _body(request))
        return self._group(chat.id)

    async def update_group(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        simulate.update_group(self.world, chat_id, await _body(request))
        return self._group(chat_id)

    async def set_member(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        user_id = _int(request.match_info["user_id"], "user id")
        body = await _body(request)
        sent = simulate.set_member(self.world, chat_id, user_id, str(body.get("status", "member")))
        result = self._group(chat_id)
        if sent is not None:
            result["service_message"] = self._sent(sent)
        return result

    async def set_bot_status(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        body = await _body(request)
        updates = simulate.set_bot_status(
            self.world,
            chat_id,
            _int(body.get("by_user_id"), "by_user_id"),
            str(body.get("status", "member")),
        )
        return self._group(chat_id) | {"updates": [update.to_json() for update in updates]}

    # What people send ---------------------------------------------------------------------

    async def start(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        user_id = _int(body.get("user_id"), "user_id")
        return self._sent(simulate.start(self.world, user_id, body.get("payload")))

    async def startgroup(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        updates = simulate.startgroup(
            self.world,
            _int(body.get("user_id"), "user_id"),
            _int(body.get("chat_id"), "chat_id"),
            body.get("payload"),
        )
        return {"updates": [update.to_json() for update in updates]}

    async def send(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        user_id = _int(body.pop("user_id", None), "user_id")
        chat_id = body.pop("chat_id", None)
        reply_to = body.pop("reply_to_message_id", None)
        sent = simulate.send(
            self.world,
            user_id,
            None if chat_id is None else _int(chat_id, "chat_id"),
            body,
            None if reply_to is None else _int(reply_to, "reply_to_message_id"),
        )
        return self._sent(sent)

    async def edit(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        sent = simulate.edit(
            self.world,
            _int(body.get("user_id"), "user_id"),
            _int(body.get("chat_id"), "chat_id"),
            _int(body.get("message_id"), "message_id"),
            str(body.get("text", "")),
        )
        return self._sent(sent)

    async def press(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        query, update = simulate.press(
            self.world,
            _int(body.get("user_id"), "user_id"),
            _int(body.get("chat_id"), "chat_id"),
            _int(body.get("message_id"), "message_id"),
            text=body.get("text"),
            data=body.get("data"),
            forge=bool(body.get("forge", False)),
        )
        return {
            "callback_query_id": query.id,
            "data": query.data,
            "update_id": update.update_id if update else None,
        }

    # What the bot did ---------------------------------------------------------------------

    async def chat_messages(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        sender = request.query.get("sender", "bot")
        if sender not in ("bot", "user", "all"):
            raise ControlError(400, "sender must be bot, user or all")
        include_deleted = request.query.get("include_deleted", "false").lower() == "true"
        messages = [
            message_view(self.world, message)
            for message in self.world.chat_messages(chat_id)
            if (include_deleted or not message.deleted)
            and (sender == "all" or message.from_bot == (sender == "bot"))
        ]
        return {"messages": messages}

    async def chat_message(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        message_id = _int(request.match_info["message_id"], "message id")
        message = self.world.messages.get((chat_id, message_id))
        if message is None:
            raise ControlError(404, f"no message {message_id} in chat {chat_id}")
        return message_view(self.world, message)

    async def chat_actions(self, request: web.Request) -> JSONDict:
        chat_id = _int(request.match_info["chat_id"], "chat id")
        return {"actions": [asdict(a) for a in self.world.actions if a.chat_id == chat_id]}

    async def callback_answers(self, request: web.Request) -> JSONDict:
        wanted = request.query.get("callback_query_id")
        return {
            "answers": [
                asdict(query)
                for query in self.world.callbacks.values()
                if wanted is None or query.id == wanted
            ]
        }

    async def commands(self, request: web.Request) -> JSONDict:
        profile = self.world.profile
        return {
            "menus": [
                {
                    "scope": profile.command_scopes.get(key, {"type": "default"}),
                    "language_code": key[1],
                    "commands": commands,
                }
                for key, commands in profile.commands.items()
            ],
            "default_menu_button": profile.default_menu_button,
        }

    async def calls(self, request: web.Request) -> JSONDict:
        query = request.query
        since = _int(query.get("since", "0"), "since")
        method = query.get("method")
        chat_id = query.get("chat_id")
        return {"calls": [c.to_json() for c in self._calls(method, chat_id, since, None)]}

    async def updates(self, request: web.Request) -> JSONDict:
        queue = self.world.updates
        return {
            "pending": [update.to_json() for update in queue.pending()],
            "delivered_count": queue.delivered_count,
        }

    async def file_info(self, request: web.Request) -> JSONDict:
        stored = self._file(request)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "kind": stored.kind,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": stored.size,
            "file_path": stored.file_path,
            "url": stored.url,
            "width": stored.width,
            "height": stored.height,
            "duration": stored.duration,
        }

    async def file_content(self, request: web.Request) -> web.Response:
        stored = self._file(request)
        if stored.data is None:
            raise ControlError(404, "the file was sent by URL; the stand-in has no bytes for it")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # Waiting ------------------------------------------------------------------------------

    async def wait_messages(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id = _int(body.get("chat_id"), "chat_id")
        count = _int(body.get("count", 1), "count")
        after = _int(body.get("after_message_id", 0), "after_message_id")

        def ready() -> list[JSONDict] | None:
            found = [
                message_view(self.world, m)
                for m in self.world.chat_messages(chat_id)
                if m.from_bot and m.message_id > after
            ]
            return found if len(found) >= count else None

        found = await self.world.wait_until(ready, _timeout(body))
        if found is None:
            sent = [
                m.text
                for m in self.world.chat_messages(chat_id)
                if m.from_bot and m.message_id > after
            ]
            raise ControlError(
                408,
                f"timed out waiting for {count} bot message(s) in chat {chat_id} after message "
                f"{after}; the bot sent {len(sent)}: {sent}",
            )
        return _json({"messages": found})

    async def wait_calls(self, request: web.Request) -> web.Response:
        body = await _body(request)
        method = body.get("method")
        chat_id = body.get("chat_id")
        count = _int(body.get("count", 1), "count")
        since = _int(body.get("since", 0), "since")
        status = body.get("status")

        def ready() -> list[JSONDict] | None:
            found = self._calls(method, chat_id, since, status)
            finished = [c.to_json() for c in found if c.status or c.response is not None]
            return finished if len(finished) >= count else None

        found = await self.world.wait_until(ready, _timeout(body))
        if found is None:
            seen = len(self._calls(method, chat_id, since, status))
            raise ControlError(
                408,
                f"timed out waiting for {count} call(s) of {method or 'any method'} "
                f"to chat {chat_id if chat_id is not None else 'any'}; saw {seen}",
            )
        return _json({"calls": found})

    async def wait_quiet(self, request: web.Request) -> web.Response:
        """Wait until the bot has made no Bot API call (but getUpdates) for ``quiet`` seconds.

        With a webhook set, the bot is busy, too, while a delivery is in flight or an update
        is still waiting to be delivered.
        """
        body = await _body(request)
        quiet = body.get("quiet", 0.3)
        if isinstance(quiet, bool) or not isinstance(quiet, int | float) or quiet < 0:
            raise ControlError(400, "quiet must be a number of seconds")
        deadline = time.monotonic() + _timeout(body)
        world = self.world
        while True:
            idle_for = time.monotonic() - world.last_call_activity
            waiting = world.webhook is not None and bool(world.updates.pending())
            busy = world.calls_in_flight > 0 or world.deliveries_in_flight > 0 or waiting
            if not busy and idle_for >= quiet:
                return _json({"ok": True, "calls": len(world.calls)})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                unsent = len(world.updates.pending()) if world.webhook is not None else 0
                raise ControlError(
                    408,
                    f"the bot did not stay quiet for {quiet} s"
                    + (f" ({unsent} update(s) not yet confirmed by its webhook)" if unsent else ""),
                )
            await world.wait_change(remaining if busy else min(remaining, quiet - idle_for))

    async def wait_deliveries(self, request: web.Request) -> web.Response:
        """Wait until ``count`` finished webhook requests match the filters."""
        body = await _body(request)
        count = _int(body.get("count", 1), "count")
        filters = _delivery_filters(body)

        def ready() -> list[JSONDict] | None:
            found = [d.to_json() for d in self._deliveries(**filters) if d.finished is not None]
            return found if len(found) >= count else None

        found = await self.world.wait_until(ready, _timeout(body))
        if found is None:
            seen = [d.to_json() for d in self._deliveries(**filters)]
            raise ControlError(
                408,
                f"timed out waiting for {count} webhook deliveries matching {filters}; "
                f"saw {len(seen)}: {seen[-5:]}",
            )
        return _json({"deliveries": found})

    # Webhook delivery ---------------------------------------------------------------------

    async def get_webhook(self, request: web.Request) -> JSONDict:
        return self._webhook()

    async def patch_webhook(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        timing = self.world.webhook_timing
        for name in ("timeout", "retry_delay", "retry_max_delay", "target_cooldown"):
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ControlError(400, f"{name} must be a number of seconds")
                setattr(timing, name, float(value))
        if "targets" in body:
            self.world.webhook_targets = _targets(body["targets"])
        self.world.changed()
        return self._webhook()

    async def get_targets(self, request: web.Request) -> JSONDict:
        return {"urls": list(self.world.webhook_targets)}

    async def set_targets(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        self.world.webhook_targets = _targets(body.get("urls", []))
        self.world.targets_down.clear()
        self.world.changed()
        return self._webhook()

    async def deliveries(self, request: web.Request) -> JSONDict:
        filters = _delivery_filters(dict(request.query))
        return {"deliveries": [d.to_json() for d in self._deliveries(**filters)]}

    # Faults and limits --------------------------------------------------------------------

    async def get_faults(self, request: web.Request) -> JSONDict:
        return {"rules": [rule.to_json() for rule in self.world.faults.rules]}

    async def add_faults(self, request: web.Request) -> JSONDict:
        body = await _body(request)
        specs = body.get("rules", [body])
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ControlError(400, "rules must be a list of objects")
        try:
            rules = [self.world.faults.add(spec) for spec in specs]
        except ValueError as error:
            raise ControlError(400, str(error)) from error
        return {"rules": [rule.to_json() for rule in rules]}

    async def clear_faults(self, request: web.Request) -> JSONDict:
        self.world.faults.clear()
        return {"ok": True}

    async def get_limits(self, request: web.Request) -> JSONDict:
        return self.world.limiter.to_json()

    async def put_limits(self, request: web.Request) -> JSONDict:
        try:
            self.world.limiter.config.update(await _body(request))
        except ValueError as error:
            raise ControlError(400, str(error)) from error
        return self.world.limiter.to_json()

    # Helpers ------------------------------------------------------------------------------

    def _bot(self) -> JSONDict:
        bot = self.world.bot
        return {"id": bot.id, "username": bot.username, "first_name": bot.first_name}

    def _user(self, user_id: int) -> JSONDict:
        user = self.world.users[user_id]
        return user_json(user) | {"started": user.started, "blocked": user.blocked}

    def _group(self, chat_id: int) -> JSONDict:
        chat = self.world.chats[chat_id]
        return chat_json(self.world, chat) | {
            "privacy_mode": chat.privacy_mode,
            "bot_status": chat.bot_status,
            "members": {str(user_id): status for user_id, status in chat.members.items()},
        }

    def _sent(self, sent: simulate.Sent) -> JSONDict:
        return {
            "update_id": sent.update.update_id if sent.update else None,
            "message": message_view(self.world, sent.message),
        }

    def _calls(self, method: str | None, chat_id: Any, since: int, status: Any) -> list[CallRecord]:
        return [
            call
            for call in self.world.calls
            if call.seq > since
            and (method is None or call.method.lower() == str(method).lower())
            and (chat_id is None or str(call.chat_id) == str(chat_id))
            and (status is None or str(call.status) == str(status))
        ]

    def _webhook(self) -> JSONDict:
        world = self.world
        now = time.monotonic()
        down = {url: round(until - now, 3) for url, until in world.targets_down.items()}
        return {
            "webhook": asdict(world.webhook) if world.webhook else None,
            "targets": list(world.webhook_targets),
            "targets_down": {url: left for url, left in down.items() if left > 0},
            "timing": asdict(world.webhook_timing),
            "pending_update_count": len(world.updates.pending()),
            "in_flight": world.deliveries_in_flight,
            "delivered_count": world.updates.delivered_count,
            "deliveries": len(world.deliveries),
        }

    def _deliveries(
        self,
        since: int = 0,
        update_id: int | None = None,
        chat_id: int | None = None,
        target: str | None = None,
        ok: bool | None = None,
    ) -> list[DeliveryRecord]:
        return [
            record
            for record in self.world.deliveries
            if record.seq > since
            and (update_id is None or record.update_id == update_id)
            and (chat_id is None or record.chat_id == chat_id)
            and (target is None or record.target == target)
            and (ok is None or (record.finished is not None and record.ok == ok))
        ]

    def _file(self, request: web.Request) -> StoredFile:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "no such file_id")
        return stored


def _guarded(handler: Callable[[web.Request], Awaitable[Any]]) -> RouteHandler:
    """Turn a handler's result into JSON and ControlError into ``{"error": ...}``."""

    async def route(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request)
        except ControlError as error:
            return web.json_response({"error": error.message}, status=error.status)
        if isinstance(result, web.StreamResponse):
            return result
        return _json(result)

    return route


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=_DUMPS)


async def _body(request: web.Request) -> JSONDict:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError as error:
        raise ControlError(400, "the request body must be JSON") from error
    if not isinstance(body, dict):
        raise ControlError(400, "the request body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(400, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as error:
        raise ControlError(400, f"{name} must be an integer") from error


def _targets(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise ControlError(400, "urls must be a list of URLs")
    for url in value:
        if not is_loopback_url(url):
            raise ControlError(
                400, f"the stand-in only delivers webhooks to loopback URLs, not {url!r}"
            )
    return list(value)


def _delivery_filters(source: JSONDict) -> dict[str, Any]:
    """since / update_id / chat_id / target / ok from a JSON body or a query string."""
    filters: dict[str, Any] = {"since": _int(source.get("since", 0), "since")}
    for name in ("update_id", "chat_id"):
        if source.get(name) is not None:
            filters[name] = _int(source[name], name)
    if source.get("target") is not None:
        filters["target"] = str(source["target"])
    ok = source.get("ok")
    if ok is not None:
        if isinstance(ok, str):
            ok = ok.lower() == "true"
        filters["ok"] = bool(ok)
    return filters


def _timeout(body: JSONDict) -> float:
    value = body.get("timeout", DEFAULT_WAIT)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(400, "timeout must be a number of seconds")
    return min(float(value), MAX_WAIT)
