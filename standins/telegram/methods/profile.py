"""The bot's own settings: getMe, command menus, names, descriptions and menu buttons, and
answering callback queries."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from standins.telegram.errors import QUERY_ID_INVALID, bad_request
from standins.telegram.methods.base import Call, JSONDict, handles
from standins.telegram.methods.common import chat_to_read, readable_chat
from standins.telegram.render import bot_user

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256
_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})


@handles("getMe")
async def get_me(call: Call) -> JSONDict:
    return bot_user(call.world, full=True)


@handles("logOut", "close")
async def log_out(call: Call) -> bool:
    return True


@handles("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    commands: list[JSONDict] = call.params.items("commands") or []
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands specified")
    for command in commands:
        if not _COMMAND.fullmatch(command["command"].lstrip("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"]) <= MAX_COMMAND_DESCRIPTION:
            raise bad_request("command description must be 1-256 characters long")
    key, scope = _command_key(call)
    profile = call.world.profile
    if commands:
        profile.commands[key] = [
            {"command": c["command"].lstrip("/"), "description": c["description"]} for c in commands
        ]
        profile.command_scopes[key] = scope
    else:
        profile.commands.pop(key, None)
    return True


@handles("getMyCommands")
async def get_my_commands(call: Call) -> list[JSONDict]:
    key, _ = _command_key(call)
    return list(call.world.profile.commands.get(key, []))


@handles("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    key, _ = _command_key(call)
    call.world.profile.commands.pop(key, None)
    return True


@handles("setMyName", "setMyDescription", "setMyShortDescription")
async def set_my_text(call: Call) -> bool:
    field, store = _profile_text(call)
    language = call.params.string("language_code") or ""
    value = call.params.string(field)
    if value:
        store[language] = value
    else:
        store.pop(language, None)
    return True


@handles("getMyName", "getMyDescription", "getMyShortDescription")
async def get_my_text(call: Call) -> JSONDict:
    field, store = _profile_text(call)
    language = call.params.string("language_code") or ""
    default = call.world.bot.first_name if field == "name" else ""
    return {field: store.get(language, store.get("", default))}


@handles("setChatMenuButton")
async def set_chat_menu_button(call: Call) -> bool:
    button = call.params.mapping("menu_button") or {"type": "default"}
    if call.params.has("chat_id"):
        chat = chat_to_read(call)
        if chat.type != "private":
            raise bad_request("menu button can be changed only in private chats")
        chat.menu_button = button
    else:
        call.world.profile.default_menu_button = (
            {"type": "commands"} if button["type"] == "default" else button
        )
    return True


@handles("getChatMenuButton")
async def get_chat_menu_button(call: Call) -> JSONDict:
    default = call.world.profile.default_menu_button
    if not call.params.has("chat_id"):
        return default
    chat = chat_to_read(call)
    if chat.menu_button is None or chat.menu_button["type"] == "default":
        return default
    return chat.menu_button


@handles("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    world = call.world
    query = world.callbacks.get(call.params.string("callback_query_id") or "")
    ttl = world.config.callback_query_ttl
    expired = query is not None and ttl is not None and time.time() - query.created > ttl
    if query is None or query.answered or expired:
        raise bad_request(QUERY_ID_INVALID)
    query.answered = True
    query.answer = {
        "text": call.params.string("text"),
        "show_alert": call.params.flag("show_alert"),
        "url": call.params.string("url"),
        "cache_time": call.params.integer("cache_time") or 0,
        "time": time.time(),
    }
    return True


def _command_key(call: Call) -> tuple[tuple[str, str], JSONDict]:
    """Commands are kept per (scope, language); a chat scope must name a known chat."""
    scope: JSONDict = call.params.mapping("scope") or {"type": "default"}
    normalized: dict[str, Any] = {"type": scope["type"]}
    if scope["type"] in _CHAT_SCOPES:
        normalized["chat_id"] = readable_chat(call.world, scope["chat_id"]).id
        if scope["type"] == "chat_member":
            normalized["user_id"] = scope["user_id"]
    language = call.params.string("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language_code specified")
    return (json.dumps(normalized, sort_keys=True), language), normalized


def _profile_text(call: Call) -> tuple[str, dict[str, str]]:
    profile = call.world.profile
    name = call.method.name.removeprefix("set").removeprefix("get")
    if name == "MyName":
        return "name", profile.names
    if name == "MyDescription":
        return "description", profile.descriptions
    return "short_description", profile.short_descriptions
