"""The Telegram adapter on aiogram 3.

aiogram parses updates and talks HTTP; a Router turns each kind of update into a
neutral :class:`~handlers.events.Incoming` and hands it to the runtime. Polling is
the runtime's own (see :mod:`bot.runtime.polling`), because aiogram's confirms an
update's offset before its work has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    ChatMemberUpdated,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)

from bot.runtime.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.runtime.polling import RawUpdate
from bot.telegram.common import (
    ALLOWED_UPDATES,
    CHANNEL,
    PARSE_MODE,
    classify_bad_request,
    display_name,
    is_not_modified,
    other_content,
    parse_command,
)
from handlers.events import (
    AttachmentKind,
    ChatKind,
    ChatRef,
    FileRef,
    Incoming,
    OutMessage,
    Sender,
)

log = logging.getLogger(__name__)

OnIncoming = Callable[[Incoming], Awaitable[None]]
# getUpdates must be allowed to take longer than its own long-polling timeout.
POLL_TIMEOUT_MARGIN = 10


class AiogramTelegram:
    """UpdateSource and Transport for Telegram through aiogram."""

    channel = CHANNEL

    def __init__(self, token: str, api_base: str, *, request_timeout: float) -> None:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(api_base.rstrip("/")), timeout=request_timeout
        )
        self.bot = Bot(token=token, session=session)
        self.username = ""
        self._on_incoming: OnIncoming | None = None
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())

    # ------------------------------------------------------------ start and stop

    async def start(self, on_incoming: OnIncoming) -> str:
        """Learn who the bot is; returns its username."""
        self._on_incoming = on_incoming
        me = await self.bot.get_me()
        self.username = me.username or ""
        return self.username

    async def close(self) -> None:
        await self.bot.session.close()

    # ------------------------------------------------------------ intake

    async def fetch(self, offset: int | None, timeout: int) -> list[RawUpdate]:
        updates = await self.bot.get_updates(
            offset=offset,
            timeout=timeout,
            allowed_updates=list(ALLOWED_UPDATES),
            request_timeout=timeout + POLL_TIMEOUT_MARGIN,
        )
        return [RawUpdate(u.update_id, _chat_key(u), u) for u in updates]

    async def process(self, raw: RawUpdate) -> None:
        await self.dispatcher.feed_update(self.bot, raw.payload)

    def _router(self) -> Router:
        router = Router(name="neutral-events")
        router.message.register(self._on_message)
        router.edited_message.register(self._on_edited)
        router.callback_query.register(self._on_callback)
        router.my_chat_member.register(self._on_member)
        return router

    async def _emit(self, incoming: Incoming | None) -> None:
        if incoming is not None and self._on_incoming is not None:
            await self._on_incoming(incoming)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        await self._emit(message_to_incoming(event_update.update_id, message, self.username))

    async def _on_edited(self, edited_message: Message, event_update: Update) -> None:
        # An edit of an earlier message is not a new answer; it is ignored on purpose.
        log.debug("edited message in update %s ignored", event_update.update_id)

    async def _on_callback(self, callback_query: CallbackQuery, event_update: Update) -> None:
        await self._emit(callback_to_incoming(event_update.update_id, callback_query))

    async def _on_member(self, my_chat_member: ChatMemberUpdated, event_update: Update) -> None:
        await self._emit(member_to_incoming(event_update.update_id, my_chat_member))

    # ------------------------------------------------------------ transport

    async def send(self, chat_id: str, message: OutMessage) -> str:
        try:
            return await self._send(chat_id, message)
        except TelegramRetryAfter as exc:
            raise RetryAfter(float(exc.retry_after)) from exc
        except TelegramBadRequest as exc:
            if message.edit_message_id and is_not_modified(exc.message):
                return message.edit_message_id
            raise classify_bad_request(exc.message) from exc
        except (TelegramForbiddenError, TelegramNotFound) as exc:
            raise classify_bad_request(exc.message) from exc
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as exc:
            raise TransientSendError(type(exc).__name__) from exc
        except TelegramAPIError as exc:
            raise PermanentSendError("api_error", exc.message) from exc

    async def _send(self, chat_id: str, message: OutMessage) -> str:
        markup = _markup(message)
        if message.edit_message_id is not None and message.file is None:
            await self.bot.edit_message_text(
                text=message.text,
                chat_id=chat_id,
                message_id=int(message.edit_message_id),
                parse_mode=PARSE_MODE,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            return message.edit_message_id
        if message.file is None:
            sent = await self.bot.send_message(
                chat_id=chat_id,
                text=message.text,
                parse_mode=PARSE_MODE,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            return str(sent.message_id)
        file = message.file
        common: dict[str, Any] = {
            "chat_id": chat_id,
            "caption": message.text or None,
            "parse_mode": PARSE_MODE,
            "reply_markup": markup,
        }
        if file.kind is AttachmentKind.PHOTO:
            sent = await self.bot.send_photo(photo=file.file_id, **common)
        elif file.kind is AttachmentKind.VOICE:
            sent = await self.bot.send_voice(voice=file.file_id, **common)
        elif file.kind is AttachmentKind.AUDIO:
            sent = await self.bot.send_audio(audio=file.file_id, **common)
        elif file.kind is AttachmentKind.VIDEO:
            sent = await self.bot.send_video(video=file.file_id, **common)
        else:
            sent = await self.bot.send_document(document=file.file_id, **common)
        return str(sent.message_id)

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await self.bot.answer_callback_query(
            callback_query_id=callback_id, text=text or None, show_alert=alert
        )

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        await self.bot.set_my_commands(
            [BotCommand(command=name, description=text) for name, text in commands],
            scope=BotCommandScopeDefault(),
            language_code=language,
        )


# ---------------------------------------------------------------- translation


def _chat_key(update: Update) -> str:
    if update.message is not None:
        return f"{CHANNEL}:{update.message.chat.id}"
    if update.edited_message is not None:
        return f"{CHANNEL}:{update.edited_message.chat.id}"
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is not None:
            return f"{CHANNEL}:{query.message.chat.id}"
        return f"{CHANNEL}:{query.from_user.id}"
    if update.my_chat_member is not None:
        return f"{CHANNEL}:{update.my_chat_member.chat.id}"
    return f"{CHANNEL}:update:{update.update_id}"


def _chat(chat: Any) -> ChatRef:
    kind: ChatKind = "private" if chat.type == "private" else "group"
    return ChatRef(CHANNEL, str(chat.id), kind, getattr(chat, "title", None))


def _sender(user: Any) -> Sender:
    return Sender(
        channel=CHANNEL,
        external_id=str(user.id),
        display_name=display_name(user.first_name, user.last_name),
        language_code=user.language_code,
        is_bot=bool(user.is_bot),
    )


def message_to_incoming(update_id: int, message: Message, bot_username: str) -> Incoming | None:
    if message.from_user is None:  # channel posts and anonymous admins: not people we serve
        return None
    if message.chat.type == "channel":
        return None
    files: list[FileRef] = []
    kinds: set[str] = set()
    if message.photo:
        largest = message.photo[-1]
        files.append(
            FileRef(
                AttachmentKind.PHOTO,
                largest.file_id,
                largest.file_unique_id,
                None,
                "image/jpeg",
                largest.file_size,
            )
        )
    elif message.animation is not None:
        kinds.add("animation")
    elif message.document is not None:
        doc = message.document
        files.append(
            FileRef(
                AttachmentKind.DOCUMENT,
                doc.file_id,
                doc.file_unique_id,
                doc.file_name,
                doc.mime_type,
                doc.file_size,
            )
        )
    if message.voice is not None:
        v = message.voice
        files.append(
            FileRef(
                AttachmentKind.VOICE, v.file_id, v.file_unique_id, None, v.mime_type, v.file_size
            )
        )
    if message.audio is not None:
        a = message.audio
        files.append(
            FileRef(
                AttachmentKind.AUDIO,
                a.file_id,
                a.file_unique_id,
                a.file_name,
                a.mime_type,
                a.file_size,
            )
        )
    if message.video is not None:
        vd = message.video
        files.append(
            FileRef(
                AttachmentKind.VIDEO,
                vd.file_id,
                vd.file_unique_id,
                vd.file_name,
                vd.mime_type,
                vd.file_size,
            )
        )
    for kind in ("sticker", "location", "venue", "contact", "poll", "video_note"):
        if getattr(message, kind, None) is not None:
            kinds.add(kind)
    text = message.text if message.text is not None else message.caption
    command = parse_command(message.text, bot_username) if message.text else None
    has_content = bool(text is not None or files)
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
        reply_to_message_id=(
            str(message.reply_to_message.message_id) if message.reply_to_message else None
        ),
    )


def callback_to_incoming(update_id: int, query: CallbackQuery) -> Incoming:
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


def member_to_incoming(update_id: int, change: ChatMemberUpdated) -> Incoming | None:
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


def _markup(message: OutMessage) -> InlineKeyboardMarkup | ForceReply | None:
    if message.force_reply:
        return ForceReply(force_reply=True, selective=True)
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
            for row in message.buttons
        ]
    )


__all__ = ["AiogramTelegram"]
