"""What both Telegram adapters share: reading updates, building replies, what an error means.

aiogram's pydantic models and python-telegram-bot's objects both carry the Bot API's
own field names, so everything that reads an update is written once here against the
small structural types below (``TgUpdate``, ``TgMessage``, ``TgUser``, ...), which both
libraries' classes satisfy as they are. The same goes for the Bot methods the adapters
call (``TgBotApi``: same names, same keyword parameters) and the classes they pass
(``TgClasses``: same names, same fields).

:class:`TelegramAdapterBase` holds the parts of an adapter that are not about its
framework: fetching and parsing updates one by one (from getUpdates, or one webhook body
at a time), setting the webhook, turning each kind of update into
an :class:`~handlers.events.Incoming`, choosing and making the Bot API call for an
:class:`~handlers.events.OutMessage`, and mapping every failed call to the neutral
errors of :mod:`bot.runtime.errors`. An adapter adds only what its framework does:
building the Bot, the raw getUpdates call and parsing one update, feeding its
dispatcher or Application, and which of its exception classes means which
:class:`Failure`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.runtime.errors import (
    MessageGone,
    PermanentSendError,
    RetryAfter,
    SendError,
    TransientSendError,
)
from bot.runtime.polling import RawUpdate
from handlers import menus
from handlers.events import (
    AttachmentKind,
    ChatKind,
    ChatRef,
    CommandMenu,
    FileRef,
    Incoming,
    OtherContent,
    OutMessage,
    Sender,
    Upload,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
PARSE_MODE = "HTML"
ALLOWED_UPDATES: Sequence[str] = ("message", "edited_message", "callback_query", "my_chat_member")

# The default command menu (the workers'), in the order Telegram shows it; a person with
# a role gets their chat's own menu (handlers/menus.py).
MENU_COMMANDS: Sequence[str] = menus.COMMANDS[menus.WORKER]
MENU_LANGUAGES: Sequence[str | None] = (None, "vi", "en")  # None: everyone else (Vietnamese)

# getUpdates must be allowed to take longer than its own long-polling timeout.
POLL_TIMEOUT_MARGIN = 10

# Webhook mode: the header Telegram carries setWebhook's secret_token in.
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# setWebhook / deleteWebhook at start: flood control (several instances starting at
# once) and network errors are waited out this many times, with these pauses.
SETUP_ATTEMPTS = 5
SETUP_BACKOFF_SECONDS: Sequence[float] = (1.0, 2.0, 5.0, 10.0)

OnIncoming = Callable[[Incoming], Awaitable[None]]

T = TypeVar("T")


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


# ---------------------------------------------------------------- reading updates


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


def chat_key(update: TgUpdate) -> str:
    """The key that orders an update behind the earlier ones of the same chat."""
    message = update.message or update.edited_message
    if message is not None:
        return f"{CHANNEL}:{message.chat.id}"
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return f"{CHANNEL}:{query.message.chat.id}"
        return f"{CHANNEL}:{query.from_user.id}"
    if update.my_chat_member is not None:
        return f"{CHANNEL}:{update.my_chat_member.chat.id}"
    return f"{CHANNEL}:update:{update.update_id}"


def parse_updates(
    results: object,
    parse: Callable[[dict[str, Any]], TgUpdate],
    *,
    known_through: int | None = None,
) -> list[RawUpdate]:
    """One getUpdates answer, each update parsed on its own by the framework's ``parse``.

    An update the framework cannot read (a field it requires is missing, or Telegram
    sends what the library does not know yet) must not hold up the ones after it: it is
    logged by id and exception class only (never its content: people's messages) and
    handed on without a payload, so that the polling loop still confirms its id.
    """
    if not isinstance(results, list):
        raise TypeError(f"getUpdates answered a {type(results).__name__}, not a list")
    batch: list[RawUpdate] = []
    for data in results:
        update_id = update_id_of(data)
        if update_id is None:
            # Without an id it cannot be confirmed on its own; the next one confirms it.
            log.warning("an update without an update_id skipped")
            continue
        if known_through is not None and update_id <= known_through:
            continue
        batch.append(parse_one(update_id, data, parse))
    return batch


def update_id_of(data: object) -> int | None:
    """The ``update_id`` of one update's JSON (None: there is none)."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    return update_id


def parse_one(
    update_id: int, data: dict[str, Any], parse: Callable[[dict[str, Any]], TgUpdate]
) -> RawUpdate:
    """One update's JSON as the intake takes it; without a payload if it cannot be read."""
    try:
        update = parse(data)
        key = chat_key(update)
    except Exception as exc:
        log.warning("update %s skipped: it could not be parsed (%s)", update_id, type(exc).__name__)
        return RawUpdate(update_id, f"{CHANNEL}:update:{update_id}", None, data)
    return RawUpdate(update_id, key, update, data)


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


# ---------------------------------------------------------------- building replies


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
        )


def reply_markup(message: OutMessage, classes: TgClasses) -> object | None:
    """A forced reply wins over buttons; no buttons, no markup."""
    if message.force_reply:
        return classes.force_reply(selective=True)
    if not message.buttons:
        return None
    return classes.inline_keyboard_markup(
        inline_keyboard=[
            [classes.inline_keyboard_button(text=b.text, callback_data=b.data) for b in row]
            for row in message.buttons
        ]
    )


# ---------------------------------------------------------------- what an error means


class Failure(enum.Enum):
    """What a framework's exception says went wrong, in the Bot API's terms."""

    RETRY_AFTER = "retry_after"  # 429: flood control, wait ``retry_after`` seconds
    BAD_REQUEST = "bad_request"  # 400: the description says what was wrong
    FORBIDDEN = "forbidden"  # 403: blocked, kicked, deactivated
    NOT_FOUND = "not_found"  # 404
    UNAUTHORIZED = "unauthorized"  # 401: the token
    NOT_FOUND_OR_UNAUTHORIZED = "not_found_or_unauthorized"  # a framework that can't tell
    TRANSIENT = "transient"  # network, timeout, 413, 5xx, an answer that is not JSON
    OTHER = "other"  # any other Bot API error: 409, a group that became a supergroup, ...


@dataclass(frozen=True, slots=True)
class ApiFailure:
    kind: Failure
    description: str = ""
    retry_after: float = 0.0

    @property
    def not_modified(self) -> bool:
        """An edit that changes nothing: as good as done."""
        return self.kind is Failure.BAD_REQUEST and is_not_modified(self.description)

    def to_error(self, name: str) -> SendError:
        """What the sender should do about it; ``name`` (the framework's class) is for logs."""
        kind = self.kind
        if kind is Failure.NOT_FOUND_OR_UNAUTHORIZED:
            # 401 is "Unauthorized" (a token Telegram does not know); anything else is a 404.
            unauthorized = "unauthorized" in self.description.lower()
            kind = Failure.UNAUTHORIZED if unauthorized else Failure.NOT_FOUND
        if kind is Failure.RETRY_AFTER:
            return RetryAfter(self.retry_after)
        if kind in (Failure.BAD_REQUEST, Failure.FORBIDDEN, Failure.NOT_FOUND):
            return classify_bad_request(self.description)
        if kind is Failure.TRANSIENT:
            return TransientSendError(name)
        return PermanentSendError("api_error", self.description)


# A framework's exception classes, most specific first, and what each means.
FailureTable = Sequence[tuple[type[BaseException] | tuple[type[BaseException], ...], Failure]]


def failure_from(exc: BaseException, table: FailureTable) -> ApiFailure | None:
    """The failure the first matching row names (None: not an error of the framework's)."""
    for classes, kind in table:
        if isinstance(exc, classes):
            return ApiFailure(kind, str(getattr(exc, "message", "") or exc))
    return None


def classify_bad_request(description: str) -> SendError:
    """Turn a Bot API 400/403/404 description into what the sender should do about it."""
    text = description.lower()
    if "message to edit not found" in text or "message can't be edited" in text:
        return MessageGone(description)
    if "blocked by the user" in text:
        return PermanentSendError("blocked", description)
    if "user is deactivated" in text:
        return PermanentSendError("deactivated", description)
    if "chat not found" in text or "bot was kicked" in text or "not a member" in text:
        return PermanentSendError("chat_not_found", description)
    return PermanentSendError("bad_request", description)


def is_not_modified(description: str) -> bool:
    return "message is not modified" in description.lower()


# ---------------------------------------------------------------- the adapters' common part


class TelegramAdapterBase(ABC):
    """UpdateSource and Transport for Telegram, less what is about the framework.

    A subclass builds its Bot (``api``), names its classes for what is sent, and
    implements the abstract hooks below; everything public but ``process`` (which feeds
    the framework's own dispatcher) and ``close`` lives here.
    """

    channel = CHANNEL

    def __init__(self, api: TgBotApi, classes: TgClasses) -> None:
        self._api = api
        self._classes = classes
        self.username = ""
        self._on_incoming: OnIncoming | None = None

    # ------------------------------------------------------------ start

    async def start(self, on_incoming: OnIncoming) -> str:
        """Learn who the bot is; returns its username."""
        self._on_incoming = on_incoming
        self.username = await self._get_username()
        return self.username

    @abstractmethod
    async def _get_username(self) -> str:
        """Call getMe (and start whatever the framework needs started)."""

    # ------------------------------------------------------------ intake

    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]:
        """One getUpdates call; a payload of None is an update that could not be parsed.

        Updates up to ``known_through`` are already being handled: they come back on
        every poll until confirmed, and parsing them again was a quarter of the bot's
        CPU time under load (py-spy), so they are left out unparsed.
        """
        results = await self._get_updates(offset, timeout)
        return parse_updates(results, self._parse_update, known_through=known_through)

    @abstractmethod
    async def _get_updates(self, offset: int | None, timeout: int) -> object:
        """getUpdates' result as decoded JSON (a list of updates, each left unparsed)."""

    @abstractmethod
    def _parse_update(self, data: dict[str, Any]) -> TgUpdate:
        """One update as the framework's own object (raises if it cannot)."""

    def wrap(self, data: Any) -> RawUpdate | None:
        """One webhook body (an Update's JSON) as the intake takes it.

        As in :meth:`fetch`, an update the framework cannot read comes without a payload
        (``process`` does nothing with it, so it is answered 200 and never sent again);
        a body without an ``update_id`` is not an update at all: None.
        """
        update_id = update_id_of(data)
        if update_id is None:
            log.warning("a webhook body without an update_id ignored")
            return None
        return parse_one(update_id, data, self._parse_update)

    # ------------------------------------------------------------ webhook

    async def set_webhook(
        self,
        url: str,
        secret: str,
        *,
        max_connections: int,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
    ) -> None:
        """Have Telegram POST updates to ``url``, with ``secret`` in the secret header.

        Setting the same webhook again changes nothing, so every instance of a bot
        behind one URL calls this at start. Pending updates are kept; flood control
        and network errors are waited out (see :data:`SETUP_ATTEMPTS`). Other errors
        (a URL Telegram refuses) raise at once as neutral errors.
        """
        await self._with_retries(
            "setWebhook",
            lambda: self._api.set_webhook(
                url=url,
                secret_token=secret,
                max_connections=max_connections,
                allowed_updates=list(allowed_updates),
                drop_pending_updates=False,
            ),
        )

    async def delete_webhook(self) -> None:
        """Back to getUpdates (which Telegram refuses while a webhook is set); pending
        updates are kept."""
        await self._with_retries(
            "deleteWebhook", lambda: self._api.delete_webhook(drop_pending_updates=False)
        )

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[object]]) -> None:
        for attempt in range(1, SETUP_ATTEMPTS + 1):
            try:
                await self._neutral(call())
                return
            except RetryAfter as exc:
                if attempt == SETUP_ATTEMPTS:
                    raise
                delay = exc.seconds
                reason = "flood control"
            except TransientSendError as exc:
                if attempt == SETUP_ATTEMPTS:
                    raise
                delay = SETUP_BACKOFF_SECONDS[min(attempt, len(SETUP_BACKOFF_SECONDS)) - 1]
                reason = str(exc)
            log.warning("%s failed (%s); trying again in %.1f s", what, reason, delay)
            await asyncio.sleep(delay)

    # The bodies of the framework's handlers, one for each kind of update.

    async def _relay_message(self, update_id: int, message: TgMessage) -> None:
        await self._emit(message_to_incoming(update_id, message, self.username))

    async def _relay_edited(self, update_id: int) -> None:
        # An edit of an earlier message is not a new answer; it is ignored on purpose.
        log.debug("edited message in update %s ignored", update_id)

    async def _relay_callback(self, update_id: int, query: TgCallbackQuery) -> None:
        await self._emit(callback_to_incoming(update_id, query))

    async def _relay_member(self, update_id: int, change: TgChatMemberUpdated) -> None:
        await self._emit(member_to_incoming(update_id, change))

    async def _emit(self, incoming: Incoming | None) -> None:
        if incoming is not None and self._on_incoming is not None:
            await self._on_incoming(incoming)

    # ------------------------------------------------------------ transport

    async def send(self, chat_id: str, message: OutMessage) -> str:
        """Send (or edit) ``message``; returns its message id. Raises neutral errors."""
        unchanged = message.edit_message_id
        return await self._neutral(self._send(chat_id, message), unchanged=unchanged)

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await self._neutral(
            self._api.answer_callback_query(
                callback_query_id=callback_id, text=text or None, show_alert=alert
            )
        )

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        """Set the command menu for one language (None: the default for everyone)."""
        make = self._classes.bot_command
        await self._neutral(
            self._api.set_my_commands(
                commands=[make(command=name, description=text) for name, text in commands],
                scope=self._classes.bot_command_scope_default(),
                language_code=language,
            )
        )

    async def _set_chat_menu(self, chat_id: str, menu: CommandMenu) -> str:
        """This chat's own command menu (a person's roles), shown whatever their app's
        language; the default menu (set at start) stays for every other chat. Not a
        message: no message id."""
        make = self._classes.bot_command
        await self._api.set_my_commands(
            commands=[make(command=name, description=text) for name, text in menu.commands],
            scope=self._classes.bot_command_scope_chat(chat_id=int(chat_id)),
            language_code=None,
        )
        return ""

    async def _send(self, chat_id: str, message: OutMessage) -> str:
        if message.menu is not None:
            return await self._set_chat_menu(chat_id, message.menu)
        if message.upload is not None:
            return await self._send_upload(chat_id, message, message.upload)
        api, file = self._api, message.file
        no_preview = self._classes.link_preview_options(is_disabled=True)
        if message.edit_message_id is not None and file is None:
            await api.edit_message_text(
                text=message.text,
                chat_id=chat_id,
                message_id=int(message.edit_message_id),
                parse_mode=PARSE_MODE,
                # an edit keeps (or changes) inline buttons only; it cannot force a reply
                reply_markup=None if message.force_reply else self._markup(message),
                link_preview_options=no_preview,
            )
            return message.edit_message_id
        markup = self._markup(message)
        if file is None:
            sent = await api.send_message(
                chat_id=chat_id,
                text=message.text,
                parse_mode=PARSE_MODE,
                reply_markup=markup,
                link_preview_options=no_preview,
            )
            return str(sent.message_id)
        # A file is always sent anew, even with edit_message_id: a text can't become one.
        common: dict[str, Any] = {
            "chat_id": chat_id,
            "caption": message.text or None,
            "parse_mode": PARSE_MODE,
            "reply_markup": markup,
        }
        if file.kind is AttachmentKind.PHOTO:
            sent = await api.send_photo(photo=file.file_id, **common)
        elif file.kind is AttachmentKind.VOICE:
            sent = await api.send_voice(voice=file.file_id, **common)
        elif file.kind is AttachmentKind.AUDIO:
            sent = await api.send_audio(audio=file.file_id, **common)
        elif file.kind is AttachmentKind.VIDEO:
            sent = await api.send_video(video=file.file_id, **common)
        else:
            sent = await api.send_document(document=file.file_id, **common)
        return str(sent.message_id)

    async def _send_upload(self, chat_id: str, message: OutMessage, upload: Upload) -> str:
        """A file the bot made (progress reports, issue #4), uploaded as a new message."""
        try:
            data = await asyncio.to_thread(Path(upload.path).read_bytes)
        except OSError as exc:
            raise PermanentSendError("upload_missing", type(exc).__name__) from exc
        file = self._classes.input_file(data, filename=upload.file_name)
        common: dict[str, Any] = {
            "chat_id": chat_id,
            "caption": message.text or None,
            "parse_mode": PARSE_MODE,
            "reply_markup": self._markup(message),
        }
        if upload.kind is AttachmentKind.PHOTO:
            sent = await self._api.send_photo(photo=file, **common)
        else:
            sent = await self._api.send_document(document=file, **common)
        return str(sent.message_id)

    def _markup(self, message: OutMessage) -> object | None:
        return reply_markup(message, self._classes)

    @abstractmethod
    def _failure(self, exc: Exception) -> ApiFailure | None:
        """What one of the framework's exceptions means (None: not the framework's)."""

    async def _neutral(self, call: Awaitable[T], *, unchanged: T | None = None) -> T:
        """Await a Bot API call; what goes wrong comes out as a :mod:`bot.runtime.errors` error.

        ``unchanged``: the result when Telegram says an edit changes nothing.
        """
        try:
            return await call
        except Exception as exc:
            failure = self._failure(exc)
            if failure is None:
                raise
            if unchanged is not None and failure.not_modified:
                return unchanged
            raise failure.to_error(type(exc).__name__) from exc
