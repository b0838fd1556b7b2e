"""Checks and steps shared by the methods that send and edit messages."""

from __future__ import annotations

from standins.telegram.errors import (
    BOT_BLOCKED,
    BUTTON_DATA_INVALID,
    BUTTON_TEXT_INVALID,
    CANT_INITIATE,
    CAPTION_TOO_LONG,
    CHAT_ID_EMPTY,
    CHAT_NOT_FOUND,
    bad_request,
    forbidden,
    too_many_requests,
)
from standins.telegram.methods.base import Call, JSONDict
from standins.telegram.models import KICKED, ChatRecord, StoredMessage
from standins.telegram.render import message_json
from standins.telegram.state import World
from standins.telegram.text import MAX_CAPTION_LENGTH, FormattedText, format_text

MAX_CALLBACK_DATA_BYTES = 64
# Inline keyboard button fields that make a button do something.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def find_chat(world: World, chat_ref: int | str) -> ChatRecord | None:
    if isinstance(chat_ref, int):
        return world.chats.get(chat_ref)
    if chat_ref.startswith("@"):
        wanted = chat_ref[1:].lower()
        return next(
            (c for c in world.chats.values() if c.username and c.username.lower() == wanted),
            None,
        )
    return None


def chat_to_read(call: Call, name: str = "chat_id") -> ChatRecord:
    """The chat a call is about, which the bot must be able to see."""
    return readable_chat(call.world, call.params.chat_ref(name))


def readable_chat(world: World, chat_ref: int | str | None) -> ChatRecord:
    if chat_ref is None:
        raise bad_request(CHAT_ID_EMPTY)
    chat = find_chat(world, chat_ref)
    if chat is None:
        raise bad_request(CHAT_NOT_FOUND)
    if chat.is_group and not chat.bot_present:
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if chat.bot_status == KICKED:
            raise forbidden(f"bot was kicked from the {kind} chat")
        raise forbidden(f"bot is not a member of the {kind} chat")
    return chat


def chat_to_write(call: Call, name: str = "chat_id") -> ChatRecord:
    """The chat a call sends to, with the errors Telegram gives when the bot may not."""
    chat = chat_to_read(call, name)
    if chat.type == "private":
        user = call.world.users[chat.id]
        if user.blocked:
            raise forbidden(BOT_BLOCKED)
        if not user.started:
            raise forbidden(CANT_INITIATE)
    return chat


def reply_markup(call: Call) -> JSONDict | None:
    """The call's reply_markup, checked the way Telegram checks inline keyboards."""
    markup = call.params.mapping("reply_markup")
    if markup is None:
        return None
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if not button.get("text"):
                raise bad_request(BUTTON_TEXT_INVALID)
            # Like Telegram, an empty callback_data counts as no callback_data at all.
            if not any(button.get(action) not in (None, "") for action in _BUTTON_ACTIONS):
                raise bad_request(
                    "can't parse InlineKeyboardButton: Text buttons are not allowed in the "
                    "inline keyboard"
                )
            data = button.get("callback_data")
            if data and len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                raise bad_request(BUTTON_DATA_INVALID)
    for row in markup.get("keyboard") or []:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not text:
                raise bad_request(BUTTON_TEXT_INVALID)
    return markup


def reply_target(call: Call, chat: ChatRecord) -> int | None:
    """The message a new message answers (reply_parameters or reply_to_message_id)."""
    params = call.params
    reply = params.mapping("reply_parameters") or {}
    message_id = reply.get("message_id", params.integer("reply_to_message_id"))
    if message_id is None:
        return None
    allow_missing = bool(
        reply.get("allow_sending_without_reply", params.flag("allow_sending_without_reply"))
    )
    target_chat = chat
    if reply.get("chat_id") is not None:
        found = find_chat(call.world, reply["chat_id"])
        if found is None:
            raise bad_request(CHAT_NOT_FOUND)
        target_chat = found
    if call.world.message(target_chat.id, int(message_id)) is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id) if target_chat.id == chat.id else None


def caption(call: Call) -> FormattedText | None:
    raw = call.params.string("caption")
    if not raw:
        return None
    formatted = format_text(
        raw,
        call.params.string("parse_mode"),
        call.params.items("caption_entities"),
        strict_ampersand=call.world.config.strict_ampersand,
    )
    if formatted.length > MAX_CAPTION_LENGTH:
        raise bad_request(CAPTION_TOO_LONG)
    return formatted


def source_of(raw: str | None, call: Call) -> JSONDict:
    """What the bot sent, kept for the control API (raw HTML and parse mode)."""
    return {"raw": raw, "parse_mode": call.params.string("parse_mode")}


def deliver(call: Call, chat: ChatRecord, message: StoredMessage) -> JSONDict:
    """Store a message the bot sends, after the flood limits let it through."""
    paid = call.params.flag("allow_paid_broadcast")
    retry_after = call.world.limiter.admit(chat.id, chat.is_group, paid)
    if retry_after is not None:
        raise too_many_requests(retry_after)
    message.message_id = call.world.next_message_id(chat)
    call.world.add_message(chat, message)
    return message_json(call.world, message)
