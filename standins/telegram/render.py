"""Turning the stand-in's records into Bot API objects (and into control-API views)."""

from __future__ import annotations

from typing import Any

from standins.telegram.models import (
    ADMINISTRATOR,
    CREATOR,
    KICKED,
    LEFT,
    MEMBER,
    RESTRICTED,
    ChatRecord,
    JSONDict,
    StoredMessage,
    UserRecord,
)
from standins.telegram.state import World

_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
_RESTRICTIONS = {
    "is_member": True,
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_react_to_messages": False,
    "can_edit_tag": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_manage_topics": False,
    "until_date": 0,
}


def bot_user(world: World, *, full: bool = False) -> JSONDict:
    data: JSONDict = {
        "id": world.bot.id or 0,
        "is_bot": True,
        "first_name": world.bot.first_name,
        "username": world.bot.username,
    }
    if full:
        data |= {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
    return data


def user_json(user: UserRecord) -> JSONDict:
    data: JSONDict = {"id": user.id, "is_bot": False, "first_name": user.first_name}
    if user.last_name:
        data["last_name"] = user.last_name
    if user.username:
        data["username"] = user.username
    if user.language_code:
        data["language_code"] = user.language_code
    if user.is_premium:
        data["is_premium"] = True
    return data


def person_json(world: World, user_id: int | None) -> JSONDict:
    """A message sender or actor: the bot (None, or its id) or a user."""
    if user_id is None or user_id == world.bot.id:
        return bot_user(world)
    user = world.users.get(user_id)
    if user is None:
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
    return user_json(user)


def chat_json(world: World, chat: ChatRecord) -> JSONDict:
    data: JSONDict = {"id": chat.id, "type": chat.type}
    if chat.type == "private":
        user = world.users.get(chat.id)
        if user is not None:
            data["first_name"] = user.first_name
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
    else:
        data["title"] = chat.title or ""
        if chat.username:
            data["username"] = chat.username
    return data


def chat_full_info(world: World, chat: ChatRecord) -> JSONDict:
    return chat_json(world, chat) | {
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def member_status(world: World, chat: ChatRecord, user_id: int) -> str:
    if world.bot.id is not None and user_id == world.bot.id:
        return chat.bot_status if chat.is_group else MEMBER
    if chat.type == "private":
        return MEMBER if user_id == chat.id else LEFT
    return chat.members.get(user_id, LEFT)


def chat_member_json(world: World, chat: ChatRecord, user_id: int) -> JSONDict:
    is_bot = world.bot.id is not None and user_id == world.bot.id
    status = member_status(world, chat, user_id)
    user = bot_user(world) if is_bot else person_json(world, user_id)
    return member_json(status, user)


def member_json(status: str, user: JSONDict) -> JSONDict:
    data: JSONDict = {"status": status, "user": user}
    if status == CREATOR:
        data["is_anonymous"] = False
    elif status == ADMINISTRATOR:
        data |= _ADMIN_RIGHTS
    elif status == RESTRICTED:
        data |= _RESTRICTIONS
    elif status == KICKED:
        data["until_date"] = 0
    return data


def chat_member_updated(
    world: World,
    chat: ChatRecord,
    actor_id: int,
    subject: JSONDict,
    old_status: str,
    new_status: str,
) -> JSONDict:
    return {
        "chat": chat_json(world, chat),
        "from": person_json(world, actor_id),
        "date": world.now(),
        "old_chat_member": member_json(old_status, subject),
        "new_chat_member": member_json(new_status, subject),
    }


def message_json(world: World, message: StoredMessage, *, with_reply: bool = True) -> JSONDict:
    chat = world.chats[message.chat_id]
    data: JSONDict = {
        "message_id": message.message_id,
        "from": person_json(world, message.sender_id),
        "chat": chat_json(world, chat),
        "date": message.date,
    }
    if with_reply and message.reply_to_message_id is not None:
        replied = world.message(message.chat_id, message.reply_to_message_id)
        if replied is not None:
            data["reply_to_message"] = message_json(world, replied, with_reply=False)
    if message.edit_date is not None:
        data["edit_date"] = message.edit_date
    if message.text is not None:
        data["text"] = message.text
        if message.entities:
            data["entities"] = message.entities
    data |= message.media
    if message.caption:
        data["caption"] = message.caption
        if message.caption_entities:
            data["caption_entities"] = message.caption_entities
    data |= message.extra
    keyboard = inline_keyboard(message.reply_markup)
    if keyboard is not None:
        data["reply_markup"] = {"inline_keyboard": keyboard}
    return data


def inline_keyboard(markup: JSONDict | None) -> list[list[JSONDict]] | None:
    """The inline keyboard of a reply markup (the only kind a Message carries back)."""
    if not markup or "inline_keyboard" not in markup:
        return None
    rows: list[list[JSONDict]] = markup["inline_keyboard"]
    return [[_without_nulls(button) for button in row] for row in rows]


def buttons(markup: JSONDict | None) -> list[JSONDict]:
    """Every button of a reply markup, inline or not, flattened for assertions."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    flat: list[JSONDict] = []
    for row in rows:
        for button in row:
            flat.append(_without_nulls(button) if isinstance(button, dict) else {"text": button})
    return flat


def message_view(world: World, message: StoredMessage) -> JSONDict:
    """The control API's view of one message: what a person would see, and how it was sent."""
    source = message.source or {}
    return {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "sender_id": message.sender_id,
        "date": message.date,
        "edit_date": message.edit_date,
        "deleted": message.deleted,
        "text": message.text if message.text is not None else message.caption,
        "html": source.get("raw"),
        "parse_mode": source.get("parse_mode"),
        "entities": message.entities or message.caption_entities,
        "caption": message.caption,
        "media": media_summary(world, message),
        "reply_markup": message.reply_markup,
        "buttons": buttons(message.reply_markup),
        "reply_to_message_id": message.reply_to_message_id,
        "edits": [
            {
                "date": version.date,
                "text": version.text if version.text is not None else version.caption,
                "html": (version.source or {}).get("raw"),
                "reply_markup": version.reply_markup,
            }
            for version in message.history
        ],
        "message": message_json(world, message),
    }


def media_summary(world: World, message: StoredMessage) -> JSONDict | None:
    for kind in ("photo", "document", "voice", "audio", "video", "animation", "sticker"):
        value: Any = message.media.get(kind)
        if value is None:
            continue
        item = value[-1] if kind == "photo" else value
        stored = world.files.get(item["file_id"])
        return {
            "type": kind,
            "file_id": item["file_id"],
            "file_unique_id": item["file_unique_id"],
            "file_name": item.get("file_name"),
            "mime_type": item.get("mime_type"),
            "file_size": item.get("file_size"),
            "url": stored.url if stored is not None else None,
        }
    return None


def _without_nulls(data: JSONDict) -> JSONDict:
    return {key: value for key, value in data.items() if value is not None}
