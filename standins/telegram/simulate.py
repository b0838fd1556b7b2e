"""What the simulated people do: write to the bot, send files, press buttons, add the bot to
groups, block it. Each action changes the stand-in's state the way Telegram would and queues
the updates the bot would receive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from standins.core.control import ControlError
from standins.core.media import image_size, make_jpeg, make_png
from standins.telegram.files import guess_mime_type
from standins.telegram.models import (
    ADMINISTRATOR,
    CREATOR,
    KICKED,
    LEFT,
    MEMBER,
    PRESENT_STATUSES,
    CallbackQueryRecord,
    ChatRecord,
    JSONDict,
    StoredMessage,
    UpdateRecord,
    UserRecord,
)
from standins.telegram.render import (
    bot_user,
    buttons,
    chat_member_updated,
    inline_keyboard,
    message_json,
    person_json,
    user_json,
)
from standins.telegram.state import World
from standins.telegram.text import MAX_CAPTION_LENGTH, MAX_MESSAGE_LENGTH, FormattedText, plain_text

START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
MEMBER_STATUSES = frozenset({CREATOR, ADMINISTRATOR, MEMBER, "restricted", LEFT, KICKED})
_USER_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")
_FAKE_OGG = b"OggS\x00\x02" + bytes(58)
_FAKE_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)


@dataclass
class Sent:
    """A message a person sent, and the update the bot got for it (None if it got none)."""

    message: StoredMessage
    update: UpdateRecord | None


# People ---------------------------------------------------------------------------------


def upsert_user(world: World, user_id: int, fields: JSONDict) -> UserRecord:
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise ControlError(400, "a user id must be a positive integer")
    if user_id == world.bot.id:
        raise ControlError(400, "that id is the bot's own")
    unknown = set(fields) - set(_USER_FIELDS) - {"id"}
    if unknown:
        raise ControlError(400, f"unknown user field {sorted(unknown)[0]!r}")
    user = world.users.get(user_id)
    if user is None:
        user = UserRecord(user_id, first_name=f"User{user_id}", language_code="vi")
        world.users[user_id] = user
        world.chats[user_id] = ChatRecord(user_id, "private", bot_status=MEMBER)
    for name in _USER_FIELDS:
        if name in fields:
            setattr(user, name, fields[name])
    if not user.first_name:
        raise ControlError(400, "first_name must not be empty")
    world.changed()
    return user


def ensure_user(world: World, user_id: int) -> UserRecord:
    return world.users.get(user_id) or upsert_user(world, user_id, {})


def set_blocked(world: World, user_id: int, blocked: bool) -> UserRecord:
    """The user blocks (or unblocks) the bot; the bot hears of it through my_chat_member."""
    user = ensure_user(world, user_id)
    if user.blocked != blocked:
        user.blocked = blocked
        old, new = (MEMBER, KICKED) if blocked else (KICKED, MEMBER)
        chat = world.chats[user_id]
        world.updates.push(
            "my_chat_member",
            chat_member_updated(world, chat, user_id, bot_user(world), old, new),
        )
    world.changed()
    return user


# Groups ---------------------------------------------------------------------------------


def create_group(world: World, spec: JSONDict) -> ChatRecord:
    kind = spec.get("type", "group")
    if kind not in ("group", "supergroup"):
        raise ControlError(400, "type must be 'group' or 'supergroup'")
    title = spec.get("title")
    if not isinstance(title, str) or not title:
        raise ControlError(400, "a group needs a title")
    chat_id = spec.get("id") or _new_group_id(world, kind)
    if not isinstance(chat_id, int) or chat_id >= 0:
        raise ControlError(400, "a group id must be a negative integer")
    if chat_id in world.chats:
        raise ControlError(409, f"chat {chat_id} already exists")
    chat = ChatRecord(
        chat_id,
        kind,
        title=title,
        username=spec.get("username"),
        privacy_mode=bool(spec.get("privacy_mode", True)),
    )
    for index, entry in enumerate(spec.get("members", [])):
        user_id, status = _member_entry(entry, CREATOR if index == 0 else MEMBER)
        ensure_user(world, user_id)
        chat.members[user_id] = status
    world.chats[chat_id] = chat
    world.changed()
    return chat


def update_group(world: World, chat_id: int, changes: JSONDict) -> ChatRecord:
    chat = group(world, chat_id)
    for name, value in changes.items():
        if name == "privacy_mode":
            chat.privacy_mode = bool(value)
        elif name == "title" and isinstance(value, str) and value:
            chat.title = value
        elif name == "username":
            chat.username = value
        else:
            raise ControlError(400, f"cannot change {name!r} of a group")
    world.changed()
    return chat


def set_member(world: World, chat_id: int, user_id: int, status: str) -> Sent | None:
    """A person joins, leaves, is promoted … in a group; the bot sees joins and leaves."""
    chat = group(world, chat_id)
    if status not in MEMBER_STATUSES:
        raise ControlError(400, f"status must be one of {sorted(MEMBER_STATUSES)}")
    user = ensure_user(world, user_id)
    was_present = chat.members.get(user_id, LEFT) in PRESENT_STATUSES
    chat.members[user_id] = status
    now_present = status in PRESENT_STATUSES
    world.changed()
    if was_present == now_present:
        return None
    service: JSONDict = (
        {"new_chat_members": [user_json(user)]}
        if now_present
        else {"left_chat_member": user_json(user)}
    )
    return _service_message(world, chat, user_id, service)


def startgroup(world: World, user_id: int, chat_id: int, payload: str | None) -> list[UpdateRecord]:
    """The user opens ``t.me/<bot>?startgroup=PAYLOAD`` and picks this group."""
    _check_payload(payload)
    chat = group(world, chat_id)
    if chat.members.get(user_id) not in PRESENT_STATUSES:
        raise ControlError(409, f"user {user_id} is not a member of chat {chat_id}")
    updates = [] if chat.bot_present else _bot_status_change(world, chat, user_id, MEMBER)
    text = f"/start@{world.bot.username}" + (f" {payload}" if payload else "")
    command = send(world, user_id, chat_id, {"text": text}).update
    return updates + ([command] if command is not None else [])


def set_bot_status(world: World, chat_id: int, by_user_id: int, status: str) -> list[UpdateRecord]:
    """Someone adds, removes, promotes or demotes the bot in a group."""
    chat = group(world, chat_id)
    ensure_user(world, by_user_id)
    if status not in (MEMBER, ADMINISTRATOR, LEFT, KICKED):
        raise ControlError(400, "the bot's status can be member, administrator, left or kicked")
    if status == chat.bot_status:
        return []
    return _bot_status_change(world, chat, by_user_id, status)


def group(world: World, chat_id: int) -> ChatRecord:
    chat = world.chats.get(chat_id)
    if chat is None or not chat.is_group:
        raise ControlError(404, f"no group chat {chat_id}")
    return chat


# Messages -------------------------------------------------------------------------------


def start(world: World, user_id: int, payload: str | None = None) -> Sent:
    """The user opens ``t.me/<bot>?start=PAYLOAD`` (or presses Start)."""
    _check_payload(payload)
    return send(world, user_id, None, {"text": "/start" + (f" {payload}" if payload else "")})


def send(
    world: World,
    user_id: int,
    chat_id: int | None,
    content: JSONDict,
    reply_to: int | None = None,
) -> Sent:
    """A person sends something to the bot's private chat or to a group."""
    user = ensure_user(world, user_id)
    if user.blocked:
        raise ControlError(409, f"user {user_id} has blocked the bot; unblock them first")
    chat = world.chats[user_id] if chat_id is None or chat_id == user_id else group(world, chat_id)
    if chat.is_group and chat.members.get(user_id) not in PRESENT_STATUSES:
        raise ControlError(409, f"user {user_id} is not a member of chat {chat.id}")
    if reply_to is not None and world.message(chat.id, reply_to) is None:
        raise ControlError(404, f"no message {reply_to} in chat {chat.id} to reply to")
    message = StoredMessage(
        chat_id=chat.id,
        message_id=world.next_message_id(chat),
        date=world.now(),
        sender_id=user_id,
        reply_to_message_id=reply_to,
        **_content(world, content),
    )
    if chat.type == "private":
        user.started = True
    world.add_message(chat, message)
    update = None
    if bot_receives(world, chat, message):
        update = world.updates.push("message", message_json(world, message))
    world.changed()
    return Sent(message, update)


def edit(world: World, user_id: int, chat_id: int, message_id: int, text: str) -> Sent:
    """A person edits the text of a message they sent."""
    message = world.message(chat_id, message_id)
    if message is None or message.sender_id != user_id:
        raise ControlError(404, f"user {user_id} has no message {message_id} in chat {chat_id}")
    if message.text is None:
        raise ControlError(409, "only text messages can be edited this way")
    formatted = _user_text(text, MAX_MESSAGE_LENGTH)
    message.history.append(message.version())
    message.text, message.entities = formatted.text, formatted.entities
    message.edit_date = world.now()
    update = None
    chat = world.chats[chat_id]
    if bot_receives(world, chat, message):
        update = world.updates.push("edited_message", message_json(world, message))
    world.changed()
    return Sent(message, update)


def press(
    world: World,
    user_id: int,
    chat_id: int,
    message_id: int,
    *,
    text: str | None = None,
    data: str | None = None,
    forge: bool = False,
) -> tuple[CallbackQueryRecord, UpdateRecord | None]:
    """A person presses an inline button; with ``forge``, sends any callback data at all."""
    user = ensure_user(world, user_id)
    if user.blocked:
        raise ControlError(409, f"user {user_id} has blocked the bot; unblock them first")
    message = world.message(chat_id, message_id)
    if message is None:
        raise ControlError(404, f"no message {message_id} in chat {chat_id}")
    if not world.chats[chat_id].bot_present:
        raise ControlError(409, f"the bot is no longer in chat {chat_id}")
    if forge:
        if data is None:
            raise ControlError(400, "a forged press needs the callback data to send")
        chosen = data
    else:
        chosen = _pressed_data(message, text, data)
    query = CallbackQueryRecord(
        id=world.new_callback_id(),
        user_id=user_id,
        chat_id=chat_id,
        message_id=message_id,
        data=chosen,
        created=world.now(),
    )
    world.callbacks[query.id] = query
    payload = {
        "id": query.id,
        "from": person_json(world, user_id),
        "message": message_json(world, message),
        "chat_instance": _chat_instance(chat_id),
        "data": chosen,
    }
    update = world.updates.push("callback_query", payload)
    world.changed()
    return query, update


def bot_receives(world: World, chat: ChatRecord, message: StoredMessage) -> bool:
    """Whether the bot gets a message sent in a chat (Telegram's group privacy mode)."""
    if chat.type == "private":
        return True
    if not chat.bot_present:
        return False
    if not chat.privacy_mode or chat.bot_status in (ADMINISTRATOR, CREATOR):
        return True
    if any(key in message.extra for key in _SERVICE_FIELDS):
        return True
    if message.reply_to_message_id is not None:
        replied = world.message(chat.id, message.reply_to_message_id)
        if replied is not None and replied.from_bot:
            return True
    text = message.text if message.text is not None else message.caption or ""
    entities = message.entities if message.text is not None else message.caption_entities
    me = world.bot.username.lower()
    for entity in entities:
        value = _utf16_slice(text, entity["offset"], entity["length"])
        if entity["type"] == "bot_command" and entity["offset"] == 0:
            addressee = value.partition("@")[2].lower()
            if not addressee or addressee == me:
                return True
        if entity["type"] == "mention" and value[1:].lower() == me:
            return True
    return False


_SERVICE_FIELDS = ("new_chat_members", "left_chat_member", "new_chat_title", "group_chat_created")


def _pressed_data(message: StoredMessage, text: str | None, data: str | None) -> str:
    if not message.from_bot:
        raise ControlError(400, f"message {message.message_id} was not sent by the bot")
    keyboard = inline_keyboard(message.reply_markup) or []
    candidates = [button for row in keyboard for button in row if "callback_data" in button]
    for button in candidates:
        if (text is not None and button["text"] == text) or (
            data is not None and button["callback_data"] == data
        ):
            return str(button["callback_data"])
    wanted = f"text {text!r}" if text is not None else f"callback data {data!r}"
    offered = [b["text"] for b in buttons(message.reply_markup)]
    raise ControlError(
        400,
        f"message {message.message_id} has no inline button with {wanted} "
        f"(its buttons: {offered}); pass forge=true to send it anyway",
    )


def _content(world: World, content: JSONDict) -> dict[str, Any]:
    """The StoredMessage fields for what a person sends: text, a file, a contact …"""
    kinds = [kind for kind in _CONTENT_KINDS if kind in content]
    if len(kinds) != 1:
        raise ControlError(400, f"send exactly one of {list(_CONTENT_KINDS)}")
    kind = kinds[0]
    spec = content[kind]
    unknown = set(content) - {kind, "caption"}
    if unknown:
        raise ControlError(400, f"unknown field {sorted(unknown)[0]!r}")
    if kind == "text":
        if not isinstance(spec, str):
            raise ControlError(400, "text must be a string")
        formatted = _user_text(spec, MAX_MESSAGE_LENGTH)
        return {"text": formatted.text, "entities": formatted.entities}
    fields: dict[str, Any] = {}
    if content.get("caption"):
        formatted = _user_text(str(content["caption"]), MAX_CAPTION_LENGTH)
        fields = {"caption": formatted.text, "caption_entities": formatted.entities}
    spec = spec if isinstance(spec, dict) else {}
    if kind == "photo":
        fields["media"] = {"photo": _photo(world, spec)}
    elif kind == "document":
        fields["media"] = {"document": _document(world, spec)}
    elif kind == "voice":
        fields["media"] = {"voice": _voice(world, spec)}
    elif kind == "sticker":
        fields["media"] = {"sticker": _sticker(world, spec)}
    elif kind == "contact":
        fields["extra"] = {"contact": _contact(spec)}
    else:
        fields["extra"] = {"location": _location(spec)}
    return fields


_CONTENT_KINDS = ("text", "photo", "document", "voice", "sticker", "contact", "location")


def _photo(world: World, spec: JSONDict) -> list[JSONDict]:
    data = _bytes(spec)
    if data is None:
        width, height = int(spec.get("width", 1280)), int(spec.get("height", 960))
        maker = make_png if spec.get("format") == "png" else make_jpeg
        try:
            data = maker(width, height, int(spec.get("seed", len(world.files.all()))))
        except ValueError as error:
            raise ControlError(400, str(error)) from error
    size = image_size(data)
    if size is None:
        raise ControlError(400, "photo bytes must be a JPEG or PNG image")
    return [stored.photo_size_json() for stored in world.files.add_photo(*size, data=data)]


def _document(world: World, spec: JSONDict) -> JSONDict:
    file_name = str(spec.get("file_name") or "document.txt")
    data = _bytes(spec)
    if data is None:
        data = str(spec.get("text", "Nội dung tài liệu")).encode()
    mime_type = spec.get("mime_type") or guess_mime_type(file_name) or "application/octet-stream"
    stored = world.files.add("document", data=data, file_name=file_name, mime_type=mime_type)
    return stored.media_json()


def _voice(world: World, spec: JSONDict) -> JSONDict:
    data = _bytes(spec) or _FAKE_OGG
    duration = int(spec.get("duration", 3))
    stored = world.files.add("voice", data=data, mime_type="audio/ogg", duration=duration)
    return stored.media_json()


def _sticker(world: World, spec: JSONDict) -> JSONDict:
    stored = world.files.add("sticker", data=_FAKE_WEBP, mime_type="image/webp")
    return stored.media_json() | {
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": str(spec.get("emoji", "👍")),
    }


def _contact(spec: JSONDict) -> JSONDict:
    if not spec.get("phone_number") or not spec.get("first_name"):
        raise ControlError(400, "a contact needs phone_number and first_name")
    allowed = ("phone_number", "first_name", "last_name", "user_id", "vcard")
    return {key: spec[key] for key in allowed if spec.get(key) is not None}


def _location(spec: JSONDict) -> JSONDict:
    try:
        latitude, longitude = float(spec["latitude"]), float(spec["longitude"])
    except (KeyError, TypeError, ValueError) as error:
        raise ControlError(400, "a location needs numeric latitude and longitude") from error
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ControlError(400, "latitude or longitude out of range")
    return {"latitude": latitude, "longitude": longitude}


def _bytes(spec: JSONDict) -> bytes | None:
    encoded = spec.get("base64")
    if encoded is None:
        return None
    try:
        return base64.b64decode(str(encoded), validate=True)
    except binascii.Error as error:
        raise ControlError(400, "base64 is not valid base64") from error


def _user_text(text: str, limit: int) -> FormattedText:
    formatted = plain_text(text)
    if not formatted.text:
        raise ControlError(400, "a message needs some text")
    if formatted.length > limit:
        raise ControlError(400, f"Telegram apps do not send more than {limit} characters")
    return formatted


def _service_message(world: World, chat: ChatRecord, actor_id: int, fields: JSONDict) -> Sent:
    message = StoredMessage(
        chat_id=chat.id,
        message_id=world.next_message_id(chat),
        date=world.now(),
        sender_id=actor_id,
        extra=fields,
    )
    world.add_message(chat, message)
    update = None
    if bot_receives(world, chat, message):
        update = world.updates.push("message", message_json(world, message))
    world.changed()
    return Sent(message, update)


def _bot_status_change(
    world: World, chat: ChatRecord, actor_id: int, status: str
) -> list[UpdateRecord]:
    """The bot's membership changes: my_chat_member, and when it joins, the service message."""
    old = chat.bot_status
    joined = not chat.bot_present and status in PRESENT_STATUSES
    chat.bot_status = status
    me = bot_user(world)
    updates = [
        world.updates.push(
            "my_chat_member", chat_member_updated(world, chat, actor_id, me, old, status)
        )
    ]
    if joined:
        updates.append(_service_message(world, chat, actor_id, {"new_chat_members": [me]}).update)
    world.changed()
    return [update for update in updates if update is not None]


def _member_entry(entry: Any, default_status: str) -> tuple[int, str]:
    if isinstance(entry, int) and not isinstance(entry, bool):
        return entry, default_status
    if isinstance(entry, dict) and isinstance(entry.get("user_id"), int):
        status = entry.get("status", default_status)
        if status not in MEMBER_STATUSES:
            raise ControlError(400, f"status must be one of {sorted(MEMBER_STATUSES)}")
        return entry["user_id"], status
    raise ControlError(400, "a member is a user id or {user_id, status}")


def _new_group_id(world: World, kind: str) -> int:
    base = -1_000_000_000_000 if kind == "supergroup" else -4_000_000_000
    number = 1
    while base - number in world.chats:
        number += 1
    return base - number


def _check_payload(payload: str | None) -> None:
    if payload is not None and not START_PAYLOAD.fullmatch(payload):
        raise ControlError(400, "a start payload is 1-64 characters of A-Z, a-z, 0-9, _ and -")


def _chat_instance(chat_id: int) -> str:
    return str(int(hashlib.sha256(str(chat_id).encode()).hexdigest()[:15], 16))


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")
