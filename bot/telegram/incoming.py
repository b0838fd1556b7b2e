"""Each kind of update the bot takes, as a neutral :class:`~handlers.events.Incoming`."""

from __future__ import annotations

from bot.telegram.botapi import (
    TgCallbackQuery,
    TgChat,
    TgChatMemberUpdated,
    TgMessage,
    TgPhotoSize,
    TgUser,
)
from bot.telegram.constants import CHANNEL
from handlers.events import (
    AttachmentKind,
    ChatKind,
    ChatRef,
    FileRef,
    Incoming,
    OtherContent,
    Sender,
)


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """("start", "payload") for "/start payload" or "/start@ThisBot payload".

    A command addressed to another bot in a group is not ours: None.
    """
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text.partition(" ")
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name.lower(), args.strip()


def other_content(kinds: set[str]) -> OtherContent:
    """The neutral name for a message kind the flows cannot take as input."""
    for kind in ("sticker", "location", "contact", "poll", "animation", "video_note"):
        if kind in kinds:
            return OtherContent(kind)
    if "venue" in kinds:
        return OtherContent.LOCATION
    return OtherContent.UNSUPPORTED


def display_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(part for part in (first_name, last_name) if part) or "?"


def _chat(chat: TgChat) -> ChatRef:
    kind: ChatKind = "private" if chat.type == "private" else "group"
    return ChatRef(CHANNEL, str(chat.id), kind, chat.title)


def _sender(user: TgUser) -> Sender:
    return Sender(
        channel=CHANNEL,
        external_id=str(user.id),
        display_name=display_name(user.first_name, user.last_name),
        language_code=user.language_code,
        is_bot=bool(user.is_bot),
    )


def _file(
    kind: AttachmentKind, file: TgPhotoSize, mime_type: str | None, file_name: str | None = None
) -> FileRef:
    return FileRef(kind, file.file_id, file.file_unique_id, file_name, mime_type, file.file_size)


def _files(message: TgMessage) -> tuple[list[FileRef], set[str]]:
    """The files the flows take, and the kinds of content they do not."""
    files: list[FileRef] = []
    kinds: set[str] = set()
    if message.photo:
        files.append(_file(AttachmentKind.PHOTO, message.photo[-1], "image/jpeg"))  # the largest
    elif message.animation is not None:  # an animation also comes as a document
        kinds.add("animation")
    elif (doc := message.document) is not None:
        files.append(_file(AttachmentKind.DOCUMENT, doc, doc.mime_type, doc.file_name))
    if (voice := message.voice) is not None:
        files.append(_file(AttachmentKind.VOICE, voice, voice.mime_type))
    if (audio := message.audio) is not None:
        files.append(_file(AttachmentKind.AUDIO, audio, audio.mime_type, audio.file_name))
    if (video := message.video) is not None:
        files.append(_file(AttachmentKind.VIDEO, video, video.mime_type, video.file_name))
    others = {
        "sticker": message.sticker,
        "location": message.location,
        "venue": message.venue,
        "contact": message.contact,
        "poll": message.poll,
        "video_note": message.video_note,
    }
    kinds.update(kind for kind, value in others.items() if value is not None)
    return files, kinds


def message_to_incoming(update_id: int, message: TgMessage, bot_username: str) -> Incoming | None:
    if message.from_user is None:  # channel posts and anonymous admins: not people we serve
        return None
    if message.chat.type == "channel":
        return None
    files, kinds = _files(message)
    text = message.text if message.text is not None else message.caption
    command = parse_command(message.text, bot_username) if message.text else None
    has_content = bool(text is not None or files)
    reply_to = message.reply_to_message
    return Incoming(
        update_id=update_id,
        sender=_sender(message.from_user),
        chat=_chat(message.chat),
        text=None if command else text,
        command=command[0] if command else None,
        command_args=command[1] if command else "",
        message_id=str(message.message_id),
        files=tuple(files),
        other=other_content(kinds) if kinds or not has_content else None,
        reply_to_message_id=str(reply_to.message_id) if reply_to else None,
    )


def callback_to_incoming(update_id: int, query: TgCallbackQuery) -> Incoming:
    message = query.message
    chat = (
        _chat(message.chat)
        if message is not None
        else ChatRef(CHANNEL, str(query.from_user.id), "private")
    )
    return Incoming(
        update_id=update_id,
        sender=_sender(query.from_user),
        chat=chat,
        button=query.data or "",
        callback_id=query.id,
        message_id=str(message.message_id) if message is not None else None,
    )


def member_to_incoming(update_id: int, change: TgChatMemberUpdated) -> Incoming | None:
    if change.chat.type == "private":
        return None
    status = change.new_chat_member.status
    joined = status in ("member", "administrator")
    left = status in ("left", "kicked")
    if not joined and not left:
        return None
    return Incoming(
        update_id=update_id,
        sender=_sender(change.from_user),
        chat=_chat(change.chat),
        bot_added_to_group=joined,
        bot_removed_from_group=left,
    )
