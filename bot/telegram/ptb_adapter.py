"""The Telegram adapter on python-telegram-bot 22.

The twin of :mod:`bot.telegram.aiogram_adapter`: same public surface, same
:class:`~handlers.events.Incoming` for the same update, same Bot API calls for the
same :class:`~handlers.events.OutMessage`, same neutral errors.

python-telegram-bot parses updates and talks HTTP; a ``telegram.ext.Application``
(without PTB's ``Updater``: polling is the runtime's own, see
:mod:`bot.runtime.polling`) routes each update through blocking handlers that turn
it into an ``Incoming`` and hand it to the runtime.

Three things PTB does differently from aiogram, and what this adapter does about them:

* ``Application.process_update`` never raises what a handler raised: it hands the
  exception to ``process_error``, which with no error handler only logs it, and which
  only logs whatever an error handler raises too (except ``ApplicationHandlerStop``).
  So "an error handler that re-raises" cannot work. Instead the one error handler
  here parks the exception on the update being processed and stops the update with
  ``ApplicationHandlerStop``; :meth:`PtbTelegram.process` then re-raises it, with its
  traceback, exactly as aiogram's ``feed_update`` would. The other silent path, a
  failure to build the ``CallbackContext`` (logged and dropped by PTB), is caught by
  checking that an update that should have reached a handler did.
* The bot is a plain ``telegram.Bot``, not an ``ExtBot``: no ``Defaults``, no rate
  limiter (the runtime has one limiter for the whole bot), no arbitrary callback
  data. ``HTTPXRequest`` does not retry; PTB raises ``RetryAfter`` instead of waiting.
* Without persistence PTB still remembers every chat and user id it has seen "for
  the next persistence update", which never comes; those marks are dropped after
  each update so a long-running bot does not grow with its user count.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
)
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.runtime.errors import (
    PermanentSendError,
    RetryAfter,
    SendError,
    TransientSendError,
)
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
Context = ContextTypes.DEFAULT_TYPE
# getUpdates must be allowed to take longer than its own long-polling timeout.
POLL_TIMEOUT_MARGIN = 10
# PTB reads its own RetryAfter.retry_after while building one, which warns (a
# UserWarning, so shown by default) that it will become a timedelta; retry_seconds()
# takes both forms, so the warning says nothing to us.
warnings.filterwarnings(
    "ignore", message=r".*attribute `retry_after`", category=PTBDeprecationWarning
)
# Connections for every call but getUpdates (aiogram's aiohttp session allows 100).
# At the default 30 sends/s this covers answers taking up to ~2 s; beyond that a
# call waits for a free connection, within request_timeout, as aiohttp's would.
CONNECTION_POOL_SIZE = 64
# getUpdates runs one call at a time; one spare for the confirming call at shutdown.
GET_UPDATES_POOL_SIZE = 2


@dataclass(slots=True)
class _InProcess:
    """What became of one update while PTB's Application handled it."""

    dispatched: bool = False
    error: Exception | None = None


class PtbTelegram:
    """UpdateSource and Transport for Telegram through python-telegram-bot."""

    channel = CHANNEL

    def __init__(self, token: str, api_base: str, *, request_timeout: float) -> None:
        base = api_base.rstrip("/")
        self.bot = Bot(
            token=token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=_request(CONNECTION_POOL_SIZE, request_timeout),
            get_updates_request=_request(GET_UPDATES_POOL_SIZE, request_timeout),
        )
        self.username = ""
        self._on_incoming: OnIncoming | None = None
        self._in_process: dict[int, _InProcess] = {}  # id(update) -> its fate
        self.application: Application[Any, Context, Any, Any, Any, None] = (
            ApplicationBuilder().bot(self.bot).updater(None).job_queue(None).build()
        )
        self._add_handlers()

    # ------------------------------------------------------------ start and stop

    async def start(self, on_incoming: OnIncoming) -> str:
        """Learn who the bot is (``initialize`` calls getMe); returns its username."""
        self._on_incoming = on_incoming
        await self.application.initialize()
        await self.application.start()
        self.username = self.bot.username or ""
        return self.username

    async def close(self) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()  # shuts the bot down too, once initialised
        # If getMe failed in start, the Application never initialised but the bot's
        # HTTP clients did: close them (a no-op when already closed).
        await self.bot.shutdown()

    # ------------------------------------------------------------ intake

    async def fetch(self, offset: int | None, timeout: int) -> list[RawUpdate]:
        # PTB adds ``timeout`` to the read timeout given here.
        updates = await self.bot.get_updates(
            offset=offset,
            timeout=timeout,
            allowed_updates=list(ALLOWED_UPDATES),
            read_timeout=POLL_TIMEOUT_MARGIN,
        )
        return [RawUpdate(u.update_id, _chat_key(u), u) for u in updates]

    async def process(self, raw: RawUpdate) -> None:
        """Route one update through the Application; re-raise what its handler raised."""
        update: Update = raw.payload
        key = id(update)
        state = _InProcess()
        self._in_process[key] = state
        try:
            await self.application.process_update(update)
        finally:
            del self._in_process[key]
            self._forget_persistence_marks()
        if state.error is not None:
            raise state.error
        if not state.dispatched and _expects_handler(update):
            # PTB logs (CRITICAL) and drops an update whose CallbackContext it cannot build.
            raise RuntimeError(f"python-telegram-bot did not dispatch update {update.update_id}")

    def _add_handlers(self) -> None:
        app = self.application
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message, block=True))
        app.add_handler(
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, self._on_edited, block=True)
        )
        app.add_handler(CallbackQueryHandler(self._on_callback, block=True))
        app.add_handler(
            ChatMemberHandler(self._on_member, ChatMemberHandler.MY_CHAT_MEMBER, block=True)
        )
        app.add_error_handler(self._on_error, block=True)

    def _mark_dispatched(self, update: Update) -> None:
        state = self._in_process.get(id(update))
        if state is not None:
            state.dispatched = True

    async def _emit(self, incoming: Incoming | None) -> None:
        if incoming is not None and self._on_incoming is not None:
            await self._on_incoming(incoming)

    async def _on_message(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.message is not None:
            await self._emit(message_to_incoming(update.update_id, update.message, self.username))

    async def _on_edited(self, update: Update, context: Context) -> None:
        # An edit of an earlier message is not a new answer; it is ignored on purpose.
        self._mark_dispatched(update)
        log.debug("edited message in update %s ignored", update.update_id)

    async def _on_callback(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.callback_query is not None:
            await self._emit(callback_to_incoming(update.update_id, update.callback_query))

    async def _on_member(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.my_chat_member is not None:
            await self._emit(member_to_incoming(update.update_id, update.my_chat_member))

    async def _on_error(self, update: object, context: Context) -> None:
        """Park a handler's exception for :meth:`process` to re-raise.

        ``process_error`` only logs what an error handler raises, so re-raising here
        would lose it; ``ApplicationHandlerStop`` ends the update's processing instead.
        """
        error = context.error
        if error is None:
            return
        state = self._in_process.get(id(update)) if update is not None else None
        if state is None:  # not from process(): nobody to hand it to, so say it loudly
            log.error("python-telegram-bot error outside an update", exc_info=error)
            return
        state.error = error
        raise ApplicationHandlerStop

    def _forget_persistence_marks(self) -> None:
        # Application marks each update's chat and user "to be saved"; only a
        # persistence run clears the marks, and without persistence none ever runs.
        if self.application.persistence is not None:
            return
        for name in (
            "_chat_ids_to_be_updated_in_persistence",
            "_user_ids_to_be_updated_in_persistence",
        ):
            marks = getattr(self.application, name, None)
            if isinstance(marks, set):
                marks.clear()

    # ------------------------------------------------------------ transport

    async def send(self, chat_id: str, message: OutMessage) -> str:
        try:
            return await self._send(chat_id, message)
        except PtbRetryAfter as exc:
            raise RetryAfter(retry_seconds(exc)) from exc
        except BadRequest as exc:  # before NetworkError: BadRequest is a NetworkError in PTB
            if message.edit_message_id and is_not_modified(exc.message):
                return message.edit_message_id
            raise classify_bad_request(exc.message) from exc
        except (Forbidden, InvalidToken) as exc:
            raise map_send_error(exc) from exc
        except (NetworkError, TimeoutError) as exc:
            raise TransientSendError(type(exc).__name__) from exc
        except TelegramError as exc:
            raise PermanentSendError("api_error", exc.message) from exc

    async def _send(self, chat_id: str, message: OutMessage) -> str:
        markup = _markup(message)
        no_preview = LinkPreviewOptions(is_disabled=True)
        if message.edit_message_id is not None and message.file is None:
            await self.bot.edit_message_text(
                text=message.text,
                chat_id=chat_id,
                message_id=int(message.edit_message_id),
                parse_mode=PARSE_MODE,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                link_preview_options=no_preview,
            )
            return message.edit_message_id
        if message.file is None:
            sent = await self.bot.send_message(
                chat_id=chat_id,
                text=message.text,
                parse_mode=PARSE_MODE,
                reply_markup=markup,
                link_preview_options=no_preview,
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


def _request(pool_size: int, timeout: float) -> HTTPXRequest:
    # trust_env=False: like aiogram's aiohttp session, ignore HTTP(S)_PROXY and .netrc.
    return HTTPXRequest(
        connection_pool_size=pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
        media_write_timeout=timeout,
        httpx_kwargs={"trust_env": False},
    )


# ---------------------------------------------------------------- errors


def retry_seconds(exc: PtbRetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB hands out an int or (PTB_TIMEDELTA) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def map_send_error(exc: TelegramError) -> SendError:
    """The neutral error for a 403 or a 401/404, as aiogram's adapter maps them.

    PTB raises ``InvalidToken`` for both 401 and 404; aiogram tells them apart
    (``TelegramUnauthorizedError`` is an "api_error", ``TelegramNotFound`` is
    classified like a bad request), so the description tells them apart here.
    """
    if isinstance(exc, InvalidToken) and "unauthorized" in exc.message.lower():
        return PermanentSendError("api_error", exc.message)
    return classify_bad_request(exc.message)


# ---------------------------------------------------------------- translation


def _expects_handler(update: Update) -> bool:
    return any(getattr(update, kind, None) is not None for kind in ALLOWED_UPDATES)


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


def _chat(chat: Chat) -> ChatRef:
    kind: ChatKind = "private" if chat.type == "private" else "group"
    return ChatRef(CHANNEL, str(chat.id), kind, chat.title)


def _sender(user: User) -> Sender:
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
        return ForceReply(selective=True)
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
            for row in message.buttons
        ]
    )


__all__ = ["PtbTelegram"]
