"""The Telegram adapter on python-telegram-bot 22.

The twin of :mod:`bot.telegram.aiogram_adapter`: same public surface, same
:class:`~handlers.events.Incoming` for the same update, same Bot API calls for the
same :class:`~handlers.events.OutMessage`, same neutral errors.

python-telegram-bot parses updates and talks HTTP; a ``telegram.ext.Application``
(without PTB's ``Updater``: polling is the runtime's own, see
:mod:`bot.runtime.polling`) routes each update through blocking handlers that hand it
to the shared translation in :mod:`bot.telegram.incoming`, which turns it into an
``Incoming`` for the runtime.

Four things PTB does differently from aiogram, and what this adapter does about them:

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
  data. Its requests go through aiohttp (:mod:`bot.telegram.ptb_request`), not PTB's
  ``HTTPXRequest``; neither retries: PTB raises ``RetryAfter`` instead of waiting.
* Without persistence PTB still remembers every chat and user id it has seen "for
  the next persistence update", which never comes; those marks are dropped after
  each update so a long-running bot does not grow with its user count.
* ``Bot.get_updates`` parses the whole batch at once, so one update PTB cannot read
  would fail every poll. The raw batch comes from ``Bot.do_api_request`` instead
  (which warns that ``get_updates`` exists; that warning is silenced) and each update
  is parsed on its own (:func:`bot.telegram.updates.parse_updates`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import telegram
from telegram import Bot, Update
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
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.runtime.polling import RawUpdate
from bot.telegram.adapter import TelegramAdapterBase
from bot.telegram.botapi import TgClasses
from bot.telegram.constants import ALLOWED_UPDATES, POLL_TIMEOUT_MARGIN
from bot.telegram.failures import ApiFailure, Failure, FailureTable, failure_from
from bot.telegram.ptb_request import AiohttpRequest

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
# PTB reads its own RetryAfter.retry_after while building one, which warns (a
# UserWarning, so shown by default) that it will become a timedelta; retry_seconds()
# takes both forms, so the warning says nothing to us.
warnings.filterwarnings(
    "ignore", message=r".*attribute `retry_after`", category=PTBDeprecationWarning
)
# do_api_request("getUpdates") warns that Bot.get_updates exists; we use it on purpose
# (get_updates parses the whole batch at once: one bad update would fail all of them).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)
# Connections for every call but getUpdates (aiogram's aiohttp session allows 100).
# At the default 30 sends/s this covers answers taking up to ~2 s; beyond that a
# call waits for a free connection, within request_timeout, as aiohttp's would.
CONNECTION_POOL_SIZE = 64
# getUpdates runs one call at a time; one spare for the confirming call at shutdown.
GET_UPDATES_POOL_SIZE = 2

CLASSES = TgClasses.of(telegram, input_file=telegram.InputFile)
# PTB's exceptions, most specific first. BadRequest is a NetworkError in PTB; InvalidToken
# stands for both 401 and 404; a non-JSON error page comes as a NetworkError.
FAILURES: FailureTable = (
    (BadRequest, Failure.BAD_REQUEST),
    (Forbidden, Failure.FORBIDDEN),
    (InvalidToken, Failure.NOT_FOUND_OR_UNAUTHORIZED),
    ((NetworkError, TimeoutError), Failure.TRANSIENT),
    (TelegramError, Failure.OTHER),
)


@dataclass(slots=True)
class _InProcess:
    """What became of one update while PTB's Application handled it."""

    dispatched: bool = False
    error: Exception | None = None


class PtbTelegram(TelegramAdapterBase):
    """UpdateSource and Transport for Telegram through python-telegram-bot."""

    def __init__(self, token: str, api_base: str, *, request_timeout: float) -> None:
        base = api_base.rstrip("/")
        self.bot = Bot(
            token=token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=AiohttpRequest(CONNECTION_POOL_SIZE, request_timeout),
            get_updates_request=AiohttpRequest(GET_UPDATES_POOL_SIZE, request_timeout),
        )
        super().__init__(self.bot, CLASSES)
        self._in_process: dict[int, _InProcess] = {}  # id(update) -> its fate
        self.application: Application[Any, Context, Any, Any, Any, None] = (
            ApplicationBuilder().bot(self.bot).updater(None).job_queue(None).build()
        )
        self._add_handlers()

    async def _get_username(self) -> str:
        """``initialize`` calls getMe."""
        await self.application.initialize()
        await self.application.start()
        return self.bot.username or ""

    async def _download(self, file_id: str) -> bytes:
        found = await self.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    async def warm_up(self) -> None:
        """Nothing to do: python-telegram-bot's classes are plain Python, ready at import."""

    async def close(self) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()  # shuts the bot down too, once initialised
        # If getMe failed in start, the Application never initialised but the bot's
        # HTTP clients did: close them (a no-op when already closed).
        await self.bot.shutdown()

    # ------------------------------------------------------------ intake

    async def _get_updates(self, offset: int | None, timeout: int) -> object:
        # The call get_updates makes (on the getUpdates connection pool), left unparsed.
        return await self.bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": offset,
                "timeout": timeout,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
            read_timeout=timeout + POLL_TIMEOUT_MARGIN,
        )

    def _parse_update(self, data: dict[str, Any]) -> Update:
        return Update.de_json(data, self.bot)

    async def process(self, raw: RawUpdate) -> None:
        """Route one update through the Application; re-raise what its handler raised."""
        update: Update | None = raw.payload
        if update is None:  # could not be parsed, only to be confirmed
            return
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

    async def _on_message(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.message is not None:
            await self._relay_message(update.update_id, update.message)

    async def _on_edited(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        await self._relay_edited(update.update_id)

    async def _on_callback(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.callback_query is not None:
            await self._relay_callback(update.update_id, update.callback_query)

    async def _on_member(self, update: Update, context: Context) -> None:
        self._mark_dispatched(update)
        if update.my_chat_member is not None:
            await self._relay_member(update.update_id, update.my_chat_member)

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

    def _failure(self, exc: Exception) -> ApiFailure | None:
        if isinstance(exc, PtbRetryAfter):
            return ApiFailure(Failure.RETRY_AFTER, exc.message, retry_seconds(exc))
        return failure_from(exc, FAILURES)


def retry_seconds(exc: PtbRetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB hands out an int or (PTB_TIMEDELTA) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _expects_handler(update: Update) -> bool:
    return any(getattr(update, kind, None) is not None for kind in ALLOWED_UPDATES)


__all__ = ["PtbTelegram"]
