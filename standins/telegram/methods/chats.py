"""Methods about chats and their members, and about files."""

from __future__ import annotations

from standins.telegram.errors import bad_request
from standins.telegram.methods.base import Call, JSONDict, handles
from standins.telegram.methods.common import chat_to_read
from standins.telegram.models import ADMINISTRATOR, CREATOR, LEFT, PRESENT_STATUSES
from standins.telegram.render import bot_user, chat_full_info, chat_member_json, chat_member_updated


@handles("getChat")
async def get_chat(call: Call) -> JSONDict:
    return chat_full_info(call.world, chat_to_read(call))


@handles("getChatMember")
async def get_chat_member(call: Call) -> JSONDict:
    chat = chat_to_read(call)
    user_id = call.params.integer("user_id") or 0
    if user_id != call.world.bot.id and user_id not in call.world.users:
        raise bad_request("user not found")
    return chat_member_json(call.world, chat, user_id)


@handles("getChatAdministrators")
async def get_chat_administrators(call: Call) -> list[JSONDict]:
    chat = chat_to_read(call)
    admins = [
        chat_member_json(call.world, chat, user_id)
        for user_id, status in chat.members.items()
        if status in (CREATOR, ADMINISTRATOR)
    ]
    if chat.bot_status == ADMINISTRATOR and call.world.bot.id is not None:
        admins.append(chat_member_json(call.world, chat, call.world.bot.id))
    return admins


@handles("getChatMemberCount")
async def get_chat_member_count(call: Call) -> int:
    chat = chat_to_read(call)
    if not chat.is_group:
        return 2
    people = sum(1 for status in chat.members.values() if status in PRESENT_STATUSES)
    return people + (1 if chat.bot_present else 0)


@handles("leaveChat")
async def leave_chat(call: Call) -> bool:
    world = call.world
    chat = chat_to_read(call)
    if not chat.is_group:
        raise bad_request("chat member status can't be changed in private chats")
    old_status = chat.bot_status
    chat.bot_status = LEFT
    me = bot_user(world)
    world.updates.push(
        "my_chat_member",
        chat_member_updated(world, chat, world.bot.id or 0, me, old_status, LEFT),
    )
    return True


@handles("getFile")
async def get_file(call: Call) -> JSONDict:
    stored = call.world.files.get(call.params.string("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.file_json()
