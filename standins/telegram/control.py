"""The control API under ``/_control/``: how tests and the terminal chat act as people and
read what the bot did. JSON in, JSON out; errors are ``{"error": "..."}`` with a 4xx status.
See docs/STANDIN.md for the reference. The routes are all here; what the bot did is
answered by ``control_records.py``, webhook delivery, faults and limits by
``control_webhook.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from aiohttp import web

import standins.telegram.simulate as simulate
from standins.core.control import ControlError, Handler, control_routes
from standins.telegram.control_input import int_param, read_body
from standins.telegram.control_records import BotRecords
from standins.telegram.control_webhook import StandinControls
from standins.telegram.models import JSONDict
from standins.telegram.render import chat_json, message_view, user_json
from standins.telegram.state import World


class ControlApi:
    def __init__(self, world: World, base_url: Callable[[], str]) -> None:
        self.world = world
        self.base_url = base_url
        self.records = BotRecords(world)
        self.controls = StandinControls(world)

    def routes(self) -> list[web.RouteDef]:
        records, controls = self.records, self.controls
        table: list[tuple[str, str, Handler]] = [
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
            ("GET", "/chats/{chat_id}/messages", records.chat_messages),
            ("GET", "/chats/{chat_id}/messages/{message_id}", records.chat_message),
            ("GET", "/chats/{chat_id}/actions", records.chat_actions),
            ("GET", "/callback-answers", records.callback_answers),
            ("GET", "/commands", records.commands),
            ("GET", "/calls", records.calls),
            ("GET", "/updates", records.updates),
            ("GET", "/files/{file_id}", records.file_info),
            ("GET", "/files/{file_id}/content", records.file_content),
            ("POST", "/wait/messages", records.wait_messages),
            ("POST", "/wait/calls", records.wait_calls),
            ("POST", "/wait/quiet", records.wait_quiet),
            ("POST", "/wait/deliveries", controls.wait_deliveries),
            ("GET", "/webhook", controls.get_webhook),
            ("PATCH", "/webhook", controls.patch_webhook),
            ("GET", "/webhook/targets", controls.get_targets),
            ("POST", "/webhook/targets", controls.set_targets),
            ("PUT", "/webhook/targets", controls.set_targets),
            ("GET", "/webhook/deliveries", controls.deliveries),
            ("GET", "/faults", controls.get_faults),
            ("POST", "/faults", controls.add_faults),
            ("DELETE", "/faults", controls.clear_faults),
            ("GET", "/limits", controls.get_limits),
            ("PUT", "/limits", controls.put_limits),
        ]
        return control_routes(table)

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
        user_id = int_param(request.match_info["user_id"], "user id")
        simulate.upsert_user(self.world, user_id, await read_body(request))
        return self._user(user_id)

    async def get_user(self, request: web.Request) -> JSONDict:
        user_id = int_param(request.match_info["user_id"], "user id")
        if user_id not in self.world.users:
            raise ControlError(404, f"no user {user_id}")
        return self._user(user_id)

    async def block_user(self, request: web.Request) -> JSONDict:
        user_id = int_param(request.match_info["user_id"], "user id")
        body = await read_body(request)
        simulate.set_blocked(self.world, user_id, bool(body.get("blocked", True)))
        return self._user(user_id)

    async def create_group(self, request: web.Request) -> JSONDict:
        chat = simulate.create_group(self.world, await read_body(request))
        return self._group(chat.id)

    async def update_group(self, request: web.Request) -> JSONDict:
        chat_id = int_param(request.match_info["chat_id"], "chat id")
        simulate.update_group(self.world, chat_id, await read_body(request))
        return self._group(chat_id)

    async def set_member(self, request: web.Request) -> JSONDict:
        chat_id = int_param(request.match_info["chat_id"], "chat id")
        user_id = int_param(request.match_info["user_id"], "user id")
        body = await read_body(request)
        sent = simulate.set_member(self.world, chat_id, user_id, str(body.get("status", "member")))
        result = self._group(chat_id)
        if sent is not None:
            result["service_message"] = self._sent(sent)
        return result

    async def set_bot_status(self, request: web.Request) -> JSONDict:
        chat_id = int_param(request.match_info["chat_id"], "chat id")
        body = await read_body(request)
        updates = simulate.set_bot_status(
            self.world,
            chat_id,
            int_param(body.get("by_user_id"), "by_user_id"),
            str(body.get("status", "member")),
        )
        return self._group(chat_id) | {"updates": [update.to_json() for update in updates]}

    # What people send ---------------------------------------------------------------------

    async def start(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        user_id = int_param(body.get("user_id"), "user_id")
        return self._sent(simulate.start(self.world, user_id, body.get("payload")))

    async def startgroup(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        updates = simulate.startgroup(
            self.world,
            int_param(body.get("user_id"), "user_id"),
            int_param(body.get("chat_id"), "chat_id"),
            body.get("payload"),
        )
        return {"updates": [update.to_json() for update in updates]}

    async def send(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        user_id = int_param(body.pop("user_id", None), "user_id")
        chat_id = body.pop("chat_id", None)
        reply_to = body.pop("reply_to_message_id", None)
        sent = simulate.send(
            self.world,
            user_id,
            None if chat_id is None else int_param(chat_id, "chat_id"),
            body,
            None if reply_to is None else int_param(reply_to, "reply_to_message_id"),
        )
        return self._sent(sent)

    async def edit(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        sent = simulate.edit(
            self.world,
            int_param(body.get("user_id"), "user_id"),
            int_param(body.get("chat_id"), "chat_id"),
            int_param(body.get("message_id"), "message_id"),
            str(body.get("text", "")),
        )
        return self._sent(sent)

    async def press(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        query, update = simulate.press(
            self.world,
            int_param(body.get("user_id"), "user_id"),
            int_param(body.get("chat_id"), "chat_id"),
            int_param(body.get("message_id"), "message_id"),
            text=body.get("text"),
            data=body.get("data"),
            forge=bool(body.get("forge", False)),
        )
        return {
            "callback_query_id": query.id,
            "data": query.data,
            "update_id": update.update_id if update else None,
        }

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
