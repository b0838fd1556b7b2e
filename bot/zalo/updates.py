"""Zalo's updates read into neutral ``Incoming`` events.

An update is ``{"event_name": "message.text.received", "message": {...}}`` (the
message: ``message_id``, ``date`` in ms, ``chat: {id, chat_type}``, ``from: {id,
display_name, is_bot}``, and ``text``, or ``photo_url`` + ``caption``, or
``sticker``). Zalo gives no update id and no offset, so the id the dispatcher
de-duplicates on is derived from the chat and message ids: a redelivered message
(webhook retry) gets the same id and is handled once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.zalo import CHANNEL
from bot.zalo.choices import Choice, match_choice, parse_command
from handlers.events import (
    AttachmentKind,
    ChatKind,
    ChatRef,
    FileRef,
    Incoming,
    OtherContent,
    Sender,
)

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"
FILE_PREFIX = f"{CHANNEL}:"
MAX_ID = 2**63 - 1  # processed_updates.update_id is a signed 64-bit integer


class BadUpdate(ValueError):
    """Not an update this adapter can read (no message, chat or sender)."""


@dataclass(frozen=True, slots=True)
class ZaloUpdate:
    event: str
    message_id: str
    chat_id: str
    chat_kind: ChatKind
    sender_id: str
    sender_name: str
    sender_is_bot: bool
    text: str | None
    photo_url: str | None
    sticker: str | None

    @property
    def update_id(self) -> int:
        return stable_update_id(self.chat_id, self.message_id)

    @property
    def chat_key(self) -> str:
        return f"{CHANNEL}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class ShownChoices:
    """What the chat's newest message with choices offered (from the database)."""

    message_id: str
    choices: list[Choice]


def stable_update_id(chat_id: str, message_id: str) -> int:
    digest = hashlib.sha256(f"{chat_id}\x00{message_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & MAX_ID or 1


def file_id_for(url: str) -> str:
    """The short, stable id a Zalo photo URL is stored under (``zalo:<hash>``)."""
    return FILE_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:40]


def is_zalo_file(file_id: str) -> bool:
    return file_id.startswith(FILE_PREFIX)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse(data: Any) -> ZaloUpdate:
    """Read one update (raises :class:`BadUpdate` when it is not one)."""
    if not isinstance(data, dict):
        raise BadUpdate("not an object")
    if data.get("ok") is True and isinstance(data.get("result"), dict):
        data = data["result"]  # a webhook body in getUpdates' envelope
    message = data.get("message")
    if not isinstance(message, dict):
        raise BadUpdate("no message")
    chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
    sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    message_id, chat_id, sender_id = (
        _id(message.get("message_id")),
        _id(chat.get("id")),
        _id(sender.get("id")),
    )
    if message_id is None or (chat_id is None and sender_id is None):
        raise BadUpdate("no message id, chat or sender")
    chat_id = chat_id or sender_id
    sender_id = sender_id or chat_id
    assert chat_id is not None and sender_id is not None
    name = next(
        (
            v.strip()
            for k in ("display_name", "name", "first_name", "account_name")
            if isinstance(v := sender.get(k), str) and v.strip()
        ),
        "?",
    )
    photo = _text(message.get("photo_url")) or _text(message.get("photo"))
    event = _text(data.get("event_name")) or ""
    text = _text(message.get("text"))
    if event == IMAGE or (not event and photo):
        text = _text(message.get("caption")) or text
    return ZaloUpdate(
        event=event,
        message_id=message_id,
        chat_id=chat_id,
        chat_kind="group" if str(chat.get("chat_type", "")).upper() == "GROUP" else "private",
        sender_id=sender_id,
        sender_name=name,
        sender_is_bot=bool(sender.get("is_bot")),
        text=text,
        photo_url=photo if photo and photo.startswith(("http://", "https://")) else None,
        sticker=_text(message.get("sticker")),
    )


def to_incoming(update: ZaloUpdate, shown: ShownChoices | None) -> Incoming:
    """The neutral event; a reply that picks one of ``shown`` is a button press."""
    sender = Sender(CHANNEL, update.sender_id, update.sender_name, None, update.sender_is_bot)
    chat = ChatRef(CHANNEL, update.chat_id, update.chat_kind)
    base: dict[str, Any] = {
        "update_id": update.update_id,
        "sender": sender,
        "chat": chat,
        "message_id": update.message_id,
    }
    if update.photo_url is not None:
        file_id = file_id_for(update.photo_url)
        photo = FileRef(AttachmentKind.PHOTO, file_id, file_id, None, "image/jpeg", None)
        return Incoming(**base, text=update.text or None, files=(photo,))
    if update.event == STICKER or (update.sticker and update.text is None):
        return Incoming(**base, other=OtherContent.STICKER)
    text = update.text
    if update.event == UNSUPPORTED or text is None:
        return Incoming(**base, other=OtherContent.UNSUPPORTED)
    command = parse_command(text) if text.lstrip().startswith("/") else None
    if command is None and shown is not None and update.chat_kind == "private":
        picked = match_choice(text, shown.choices)
        if picked is not None:
            base["message_id"] = shown.message_id
            # The chat id stands in for a callback id: the flow's notice is sent there.
            return Incoming(**base, button=shown.choices[picked][1], callback_id=update.chat_id)
    command = command or parse_command(text)
    if command is not None:
        return Incoming(**base, command=command[0], command_args=command[1])
    return Incoming(**base, text=text)
