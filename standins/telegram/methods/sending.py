"""Methods that put something new in a chat: messages, photos, documents, voice notes,
copies and forwards, and chat actions."""

from __future__ import annotations

from standins.core.media import image_size
from standins.telegram.errors import (
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TOO_LONG,
    WRONG_FILE_ID,
    bad_request,
    missing_parameter,
)
from standins.telegram.files import StoredFile, guess_mime_type
from standins.telegram.methods.base import Call, JSONDict, handles
from standins.telegram.methods.common import (
    caption,
    chat_to_read,
    chat_to_write,
    deliver,
    reply_markup,
    reply_target,
    source_of,
)
from standins.telegram.models import ChatAction, ChatRecord, StoredMessage
from standins.telegram.render import person_json
from standins.telegram.text import MAX_MESSAGE_LENGTH, format_text
from standins.telegram.wire import UploadedFile

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_URL_PHOTO_SIZE = (800, 600)  # a photo sent by URL is never fetched; this is its nominal size
_KIND_NAMES = {"photo": "Photo", "document": "Document", "voice": "Voice"}
_COPYABLE_EXTRAS = frozenset({"contact", "location", "venue"})


@handles("sendMessage")
async def send_message(call: Call) -> JSONDict:
    raw = call.params.string("text") or ""
    formatted = format_text(
        raw,
        call.params.string("parse_mode"),
        call.params.items("entities"),
        strict_ampersand=call.world.config.strict_ampersand,
    )
    if not formatted.text:
        raise bad_request(MESSAGE_TEXT_EMPTY)
    markup = reply_markup(call)
    chat = chat_to_write(call)
    if formatted.length > MAX_MESSAGE_LENGTH:
        raise bad_request(MESSAGE_TOO_LONG)
    message = StoredMessage(
        chat_id=chat.id,
        message_id=0,
        date=call.world.now(),
        sender_id=None,
        text=formatted.text,
        entities=formatted.entities,
        reply_markup=markup,
        reply_to_message_id=reply_target(call, chat),
        source=source_of(raw, call),
    )
    return deliver(call, chat, message)


@handles("sendPhoto", "sendDocument", "sendVoice")
async def send_media(call: Call) -> JSONDict:
    kind = {"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice"}[
        call.method.name
    ]
    given = call.params.file(kind)
    if given is None:
        raise missing_parameter(call.method.name, kind)
    formatted = caption(call)
    markup = reply_markup(call)
    chat = chat_to_write(call)
    media = _media(call, kind, given)
    message = StoredMessage(
        chat_id=chat.id,
        message_id=0,
        date=call.world.now(),
        sender_id=None,
        caption=formatted.text if formatted else None,
        caption_entities=formatted.entities if formatted else [],
        media=media,
        reply_markup=markup,
        reply_to_message_id=reply_target(call, chat),
        source=source_of(call.params.string("caption"), call),
    )
    return deliver(call, chat, message)


@handles("copyMessage", "forwardMessage")
async def copy_or_forward(call: Call) -> JSONDict:
    original = _message_to_copy(call)
    chat = chat_to_write(call)
    copy = StoredMessage(
        chat_id=chat.id,
        message_id=0,
        date=call.world.now(),
        sender_id=None,
        text=original.text,
        entities=list(original.entities),
        caption=original.caption,
        caption_entities=list(original.caption_entities),
        media=dict(original.media),
        extra={k: v for k, v in original.extra.items() if k in _COPYABLE_EXTRAS},
        source=original.source,
    )
    if call.method.name == "forwardMessage":
        copy.extra["forward_origin"] = {
            "type": "user",
            "sender_user": person_json(call.world, original.sender_id),
            "date": original.date,
        }
        return deliver(call, chat, copy)
    new_caption = caption(call)
    if new_caption is not None:
        copy.caption, copy.caption_entities = new_caption.text, new_caption.entities
        copy.source = source_of(call.params.string("caption"), call)
    copy.reply_markup = reply_markup(call)
    copy.reply_to_message_id = reply_target(call, chat)
    sent = deliver(call, chat, copy)
    return {"message_id": sent["message_id"]}


@handles("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    action = (call.params.string("action") or "").lower()
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat = chat_to_write(call)
    call.world.actions.append(ChatAction(chat.id, action, call.world.now()))
    return True


def _message_to_copy(call: Call) -> StoredMessage:
    source_chat: ChatRecord = chat_to_read(call, "from_chat_id")
    message_id = call.params.integer("message_id")
    verb = "forward" if call.method.name == "forwardMessage" else "copy"
    original = call.world.message(source_chat.id, message_id or 0)
    if original is None:
        raise bad_request(f"message to {verb} not found")
    return original


def _media(call: Call, kind: str, given: UploadedFile | str) -> JSONDict:
    """The Message fields describing a sent file, registering the file if it is new."""
    files = call.world.files
    if isinstance(given, UploadedFile):
        return _upload(call, kind, given)
    known = files.get(given)
    if known is not None:
        if known.kind != kind:
            raise bad_request(
                f"can't use file of type {_KIND_NAMES.get(known.kind, known.kind.title())} "
                f"as {_KIND_NAMES[kind]}"
            )
        return _file_fields(call, kind, known)
    if given.startswith(("http://", "https://")):
        if kind == "photo":
            return _photo(files.add_photo(*_URL_PHOTO_SIZE, url=given))
        name = given.rstrip("/").rsplit("/", 1)[-1] or None
        stored = files.add(
            kind,
            url=given,
            file_name=name,
            mime_type=_mime(kind, name, None),
            duration=call.params.integer("duration"),
        )
        return _file_fields(call, kind, stored)
    raise bad_request(WRONG_FILE_ID)


def _upload(call: Call, kind: str, upload: UploadedFile) -> JSONDict:
    files = call.world.files
    if kind == "photo":
        size = image_size(upload.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return _photo(files.add_photo(*size, data=upload.data))
    file_name = upload.filename if kind == "document" else None
    stored = files.add(
        kind,
        data=upload.data,
        file_name=file_name,
        mime_type=_mime(kind, upload.filename, upload.content_type),
        duration=call.params.integer("duration") if kind == "voice" else None,
    )
    return _file_fields(call, kind, stored)


def _file_fields(call: Call, kind: str, stored: StoredFile) -> JSONDict:
    if kind == "photo":
        return _photo(call.world.files.photo_set(stored.file_id) or [stored])
    return {kind: stored.media_json()}


def _photo(sizes: list[StoredFile]) -> JSONDict:
    return {"photo": [size.photo_size_json() for size in sizes]}


def _mime(kind: str, file_name: str | None, content_type: str | None) -> str | None:
    if kind == "voice":
        return "audio/ogg"
    if content_type and content_type != "application/octet-stream":
        return content_type
    return guess_mime_type(file_name) or content_type
