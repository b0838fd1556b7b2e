"""The control API's view of what the bot did: its messages, chat actions, callback
answers, commands, calls, updates and files, and waiting for them (``/_control/chats``,
``/calls``, ``/wait/messages`` …; routes in ``control.py``)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from aiohttp import web

from standins.core.control import ControlError, json_answer
from standins.telegram.control_input import int_param, read_body, wait_timeout
from standins.telegram.files import StoredFile
from standins.telegram.models import CallRecord, JSONDict
from standins.telegram.render import message_view
from standins.telegram.state import World


class BotRecords:
    def __init__(self, world: World) -> None:
        self.world = world

    async def chat_messages(self, request: web.Request) -> JSONDict:
        chat_id = int_param(request.match_info["chat_id"], "chat id")
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
        chat_id = int_param(request.match_info["chat_id"], "chat id")
        message_id = int_param(request.match_info["message_id"], "message id")
        message = self.world.messages.get((chat_id, message_id))
        if message is None:
            raise ControlError(404, f"no message {message_id} in chat {chat_id}")
        return message_view(self.world, message)

    async def chat_actions(self, request: web.Request) -> JSONDict:
        chat_id = int_param(request.match_info["chat_id"], "chat id")
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
        since = int_param(query.get("since", "0"), "since")
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
        body = await read_body(request)
        chat_id = int_param(body.get("chat_id"), "chat_id")
        count = int_param(body.get("count", 1), "count")
        after = int_param(body.get("after_message_id", 0), "after_message_id")

        def ready() -> list[JSONDict] | None:
            found = [
                message_view(self.world, m)
                for m in self.world.chat_messages(chat_id)
                if m.from_bot and m.message_id > after
            ]
            return found if len(found) >= count else None

        found = await self.world.wait_until(ready, wait_timeout(body))
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
        return json_answer({"messages": found})

    async def wait_calls(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        method = body.get("method")
        chat_id = body.get("chat_id")
        count = int_param(body.get("count", 1), "count")
        since = int_param(body.get("since", 0), "since")
        status = body.get("status")

        def ready() -> list[JSONDict] | None:
            found = self._calls(method, chat_id, since, status)
            finished = [c.to_json() for c in found if c.status or c.response is not None]
            return finished if len(finished) >= count else None

        found = await self.world.wait_until(ready, wait_timeout(body))
        if found is None:
            seen = len(self._calls(method, chat_id, since, status))
            raise ControlError(
                408,
                f"timed out waiting for {count} call(s) of {method or 'any method'} "
                f"to chat {chat_id if chat_id is not None else 'any'}; saw {seen}",
            )
        return json_answer({"calls": found})

    async def wait_quiet(self, request: web.Request) -> web.Response:
        """Wait until the bot has made no Bot API call (but getUpdates) for ``quiet`` seconds.

        With a webhook set, the bot is busy, too, while a delivery is in flight or an update
        is still waiting to be delivered.
        """
        body = await read_body(request)
        quiet = body.get("quiet", 0.3)
        if isinstance(quiet, bool) or not isinstance(quiet, int | float) or quiet < 0:
            raise ControlError(400, "quiet must be a number of seconds")
        deadline = time.monotonic() + wait_timeout(body)
        world = self.world
        while True:
            idle_for = time.monotonic() - world.last_call_activity
            waiting = world.webhook is not None and bool(world.updates.pending())
            busy = world.calls_in_flight > 0 or world.deliveries_in_flight > 0 or waiting
            if not busy and idle_for >= quiet:
                return json_answer({"ok": True, "calls": len(world.calls)})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                unsent = len(world.updates.pending()) if world.webhook is not None else 0
                raise ControlError(
                    408,
                    f"the bot did not stay quiet for {quiet} s"
                    + (f" ({unsent} update(s) not yet confirmed by its webhook)" if unsent else ""),
                )
            await world.wait_change(remaining if busy else min(remaining, quiet - idle_for))

    # Helpers ------------------------------------------------------------------------------

    def _calls(self, method: str | None, chat_id: Any, since: int, status: Any) -> list[CallRecord]:
        return [
            call
            for call in self.world.calls
            if call.seq > since
            and (method is None or call.method.lower() == str(method).lower())
            and (chat_id is None or str(call.chat_id) == str(chat_id))
            and (status is None or str(call.status) == str(status))
        ]

    def _file(self, request: web.Request) -> StoredFile:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "no such file_id")
        return stored
