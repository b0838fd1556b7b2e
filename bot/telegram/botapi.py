"""The Bot API as both libraries present it: structural types their classes satisfy.

aiogram's pydantic models and python-telegram-bot's objects both carry the Bot API's
own field names, so everything that reads an update is written once against the
small protocols below (``TgUpdate``, ``TgMessage``, ``TgUser``, ...), which both
libraries' classes satisfy as they are. The same goes for the Bot methods the adapters
call (``TgBotApi``: same names, same keyword parameters) and the classes they pass
(``TgClasses``: same names, same fields).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# ---------------------------------------------------------------- the Bot API's objects
#
# Read-only properties, so that aiogram's fields (plain attributes) and PTB's (frozen
# attributes) both satisfy them, and a narrower type (list, tuple, a str enum) does too.


class TgUser(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def is_bot(self) -> bool: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def language_code(self) -> str | None: ...


class TgChat(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str | None: ...


class TgMessageRef(Protocol):
    """What every message tells, even one the bot can no longer read: where it is."""

    @property
    def message_id(self) -> int: ...
    @property
    def chat(self) -> TgChat: ...


class TgPhotoSize(Protocol):
    """What every file has; a photo size has nothing more that we read."""

    @property
    def file_id(self) -> str: ...
    @property
    def file_unique_id(self) -> str: ...
    @property
    def file_size(self) -> int | None: ...


class TgVoice(TgPhotoSize, Protocol):
    @property
    def mime_type(self) -> str | None: ...


class TgDocument(TgVoice, Protocol):
    """A document, and also an audio file, a video or an animation."""

    @property
    def file_name(self) -> str | None: ...


class TgMessage(TgMessageRef, Protocol):
    @property
    def from_user(self) -> TgUser | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def caption(self) -> str | None: ...
    @property
    def photo(self) -> Sequence[TgPhotoSize] | None: ...
    @property
    def animation(self) -> TgDocument | None: ...
    @property
    def document(self) -> TgDocument | None: ...
    @property
    def voice(self) -> TgVoice | None: ...
    @property
    def audio(self) -> TgDocument | None: ...
    @property
    def video(self) -> TgDocument | None: ...
    @property
    def sticker(self) -> object | None: ...
    @property
    def location(self) -> object | None: ...
    @property
    def venue(self) -> object | None: ...
    @property
    def contact(self) -> object | None: ...
    @property
    def poll(self) -> object | None: ...
    @property
    def video_note(self) -> object | None: ...
    @property
    def reply_to_message(self) -> TgMessageRef | None: ...


class TgCallbackQuery(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> TgUser: ...
    @property
    def data(self) -> str | None: ...
    @property
    def message(self) -> TgMessageRef | None: ...


class TgChatMember(Protocol):
    @property
    def status(self) -> str: ...


class TgChatMemberUpdated(Protocol):
    @property
    def chat(self) -> TgChat: ...
    @property
    def from_user(self) -> TgUser: ...
    @property
    def new_chat_member(self) -> TgChatMember: ...


class TgUpdate(Protocol):
    @property
    def update_id(self) -> int: ...
    @property
    def message(self) -> TgMessage | None: ...
    @property
    def edited_message(self) -> TgMessage | None: ...
    @property
    def callback_query(self) -> TgCallbackQuery | None: ...
    @property
    def my_chat_member(self) -> TgChatMemberUpdated | None: ...


# ---------------------------------------------------------------- the Bot's methods


class TgBotApi(Protocol):
    """The Bot methods the adapters call: both libraries' Bots have them, with these names
    and keyword parameters. The markup and option objects are the framework's own
    (see :class:`TgClasses`)."""

    async def send_message(
        self,
        *,
        chat_id: str,
        text: str,
        parse_mode: str,
        reply_markup: Any,
        link_preview_options: Any,
        allow_paid_broadcast: bool | None = None,
    ) -> TgMessageRef: ...

    async def edit_message_text(
        self,
        *,
        text: str,
        chat_id: str,
        message_id: int,
        parse_mode: str,
        reply_markup: Any,
        link_preview_options: Any,
    ) -> object: ...

    async def send_photo(
        self, *, chat_id: str, photo: Any, caption: str | None, parse_mode: str, reply_markup: Any
    ) -> TgMessageRef: ...

    async def send_voice(
        self, *, chat_id: str, voice: Any, caption: str | None, parse_mode: str, reply_markup: Any
    ) -> TgMessageRef: ...

    async def send_audio(
        self, *, chat_id: str, audio: Any, caption: str | None, parse_mode: str, reply_markup: Any
    ) -> TgMessageRef: ...

    async def send_video(
        self, *, chat_id: str, video: Any, caption: str | None, parse_mode: str, reply_markup: Any
    ) -> TgMessageRef: ...

    async def send_document(
        self,
        *,
        chat_id: str,
        document: Any,
        caption: str | None,
        parse_mode: str,
        reply_markup: Any,
    ) -> TgMessageRef: ...

    async def answer_callback_query(
        self, *, callback_query_id: str, text: str | None, show_alert: bool
    ) -> object: ...

    async def set_my_commands(
        self, *, commands: Any, scope: Any, language_code: str | None
    ) -> object: ...

    async def set_chat_menu_button(self, *, chat_id: int, menu_button: Any) -> object: ...

    async def set_webhook(
        self,
        *,
        url: str,
        secret_token: str | None,
        max_connections: int | None,
        allowed_updates: list[str] | None,
        drop_pending_updates: bool | None,
    ) -> object: ...

    async def delete_webhook(self, *, drop_pending_updates: bool | None) -> object: ...


@dataclass(frozen=True, slots=True)
class TgClasses:
    """The framework's classes for what the Bot API calls carry. Both libraries' take the
    Bot API's field names as keyword arguments; only whose objects they are differs."""

    force_reply: Callable[..., object]
    inline_keyboard_markup: Callable[..., object]
    inline_keyboard_button: Callable[..., object]
    link_preview_options: Callable[..., object]
    bot_command: Callable[..., object]
    bot_command_scope_default: Callable[..., object]
    bot_command_scope_chat: Callable[..., object]
    input_file: Callable[..., object]  # (bytes, filename=...): a file to upload
    web_app_info: Callable[..., object]
    menu_button_web_app: Callable[..., object]
    menu_button_default: Callable[..., object]

    @classmethod
    def of(cls, types: Any, *, input_file: Callable[..., object]) -> TgClasses:
        """The classes a framework's module exports under the Bot API's own type names,
        and its class for uploading bytes (whose name differs between the libraries)."""
        return cls(
            force_reply=types.ForceReply,
            inline_keyboard_markup=types.InlineKeyboardMarkup,
            inline_keyboard_button=types.InlineKeyboardButton,
            link_preview_options=types.LinkPreviewOptions,
            bot_command=types.BotCommand,
            bot_command_scope_default=types.BotCommandScopeDefault,
            bot_command_scope_chat=types.BotCommandScopeChat,
            input_file=input_file,
            web_app_info=types.WebAppInfo,
            menu_button_web_app=types.MenuButtonWebApp,
            menu_button_default=types.MenuButtonDefault,
        )
