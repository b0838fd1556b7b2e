"""Methods that change or remove a message already in a chat."""

from __future__ import annotations

from standins.telegram.errors import (
    MESSAGE_ID_NOT_SPECIFIED,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TOO_LONG,
    bad_request,
)
from standins.telegram.methods.base import Call, JSONDict, handles
from standins.telegram.methods.common import (
    caption,
    chat_to_read,
    chat_to_write,
    reply_markup,
    source_of,
)
from standins.telegram.models import ADMINISTRATOR, CREATOR, StoredMessage
from standins.telegram.render import message_json
from standins.telegram.text import MAX_MESSAGE_LENGTH, format_text


@handles("editMessageText")
async def edit_message_text(call: Call) -> JSONDict:
    raw = call.params.string("text") or ""
    if not raw:
        raise bad_request(MESSAGE_TEXT_EMPTY)
    formatted = format_text(
        raw,
        call.params.string("parse_mode"),
        call.params.items("entities"),
        strict_ampersand=call.world.config.strict_ampersand,
    )
    if not formatted.text:
        raise bad_request(MESSAGE_TEXT_EMPTY)
    message = _message_to_edit(call)
    markup = reply_markup(call)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    if formatted.length > MAX_MESSAGE_LENGTH:
        raise bad_request(MESSAGE_TOO_LONG)
    if (formatted.text, formatted.entities, markup) == (
        message.text,
        message.entities,
        message.reply_markup,
    ):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    _keep_version(call, message)
    message.text, message.entities = formatted.text, formatted.entities
    message.reply_markup = markup
    message.source = source_of(raw, call)
    return message_json(call.world, message)


@handles("editMessageCaption")
async def edit_message_caption(call: Call) -> JSONDict:
    message = _message_to_edit(call)
    markup = reply_markup(call)
    if not message.media:
        raise bad_request("there is no caption in the message to edit")
    formatted = caption(call)
    new_text = formatted.text if formatted else None
    new_entities = formatted.entities if formatted else []
    if (new_text, new_entities, markup) == (
        message.caption,
        message.caption_entities,
        message.reply_markup,
    ):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    _keep_version(call, message)
    message.caption, message.caption_entities = new_text, new_entities
    message.reply_markup = markup
    message.source = source_of(call.params.string("caption"), call)
    return message_json(call.world, message)


@handles("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> JSONDict:
    message = _message_to_edit(call)
    markup = reply_markup(call)
    if markup == message.reply_markup:
        raise bad_request(MESSAGE_NOT_MODIFIED)
    _keep_version(call, message)
    message.reply_markup = markup
    return message_json(call.world, message)


@handles("deleteMessage")
async def delete_message(call: Call) -> bool:
    chat = chat_to_read(call)
    message_id = call.params.integer("message_id")
    message = call.world.message(chat.id, message_id or 0)
    if message is None:
        raise bad_request("message to delete not found")
    bot_is_admin = chat.bot_status in (ADMINISTRATOR, CREATOR)
    if chat.is_group and not message.from_bot and not bot_is_admin:
        raise bad_request("message can't be deleted")
    message.deleted = True
    return True


def _message_to_edit(call: Call) -> StoredMessage:
    params = call.params
    if not params.has("chat_id") and not params.has("message_id"):
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the Telegram stand-in")
        raise bad_request(MESSAGE_ID_NOT_SPECIFIED)
    chat = chat_to_write(call)
    message = call.world.message(chat.id, params.integer("message_id") or 0)
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _keep_version(call: Call, message: StoredMessage) -> None:
    message.history.append(message.version())
    message.edit_date = call.world.now()
