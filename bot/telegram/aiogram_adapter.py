"""The Telegram adapter on aiogram 3.

aiogram parses updates and talks HTTP; :meth:`AiogramTelegram.process` hands each kind
of update to the shared translation in :mod:`bot.telegram.incoming`, which turns it into a
neutral :class:`~handlers.events.Incoming` for the runtime; the rest of what the two adapters
share is :class:`~bot.telegram.adapter.TelegramAdapterBase`. Polling is the runtime's
own (see :mod:`bot.runtime.polling`), because aiogram's confirms an update's offset
before its work has committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from bot.telegram.aiogram_models import import_aiogram

# aiogram's models are built when first used, not all 444 at import (see the module).
import_aiogram()

from aiogram import Bot, types  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.exceptions import (  # noqa: E402
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (  # noqa: E402
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType  # noqa: E402
from aiogram.types import (  # noqa: E402
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bot.runtime.errors import TransientSendError  # noqa: E402
from bot.runtime.polling import RawUpdate  # noqa: E402
from bot.telegram.adapter import TelegramAdapterBase  # noqa: E402
from bot.telegram.botapi import TgClasses  # noqa: E402
from bot.telegram.constants import ALLOWED_UPDATES, POLL_TIMEOUT_MARGIN  # noqa: E402
from bot.telegram.failures import ApiFailure, Failure, FailureTable, failure_from  # noqa: E402

log = logging.getLogger(__name__)

# aiogram's InputFile is abstract; its in-memory one is BufferedInputFile.
CLASSES = TgClasses.of(types, input_file=BufferedInputFile)
# aiogram's exceptions, most specific first. ClientDecodeError: an answer that is not
# the Bot API's JSON, such as a proxy's HTML error page.
FAILURES: FailureTable = (
    (TelegramBadRequest, Failure.BAD_REQUEST),
    (TelegramForbiddenError, Failure.FORBIDDEN),
    (TelegramNotFound, Failure.NOT_FOUND),
    (TelegramUnauthorizedError, Failure.UNAUTHORIZED),
    (
        (TelegramNetworkError, TelegramServerError, ClientDecodeError, TimeoutError),
        Failure.TRANSIENT,
    ),
    (TelegramAPIError, Failure.OTHER),
)


class GetRawUpdates(TelegramMethod[list[Any]]):
    """getUpdates, answered with each update's JSON unparsed (``fetch`` parses them one
    by one, so one update aiogram's models reject cannot fail the whole batch)."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class _Session(AiohttpSession):
    """aiogram's aiohttp session, keeping each call's answer model alive.

    aiogram reads every answer with ``Response[<the method's result type>]``, a pydantic
    generic model built on first use and cached only weakly: each time the garbage
    collector found it unused it was built again, 50-180 ms each (12 % of the bot's CPU
    in the throughput benchmark, docs/BENCHMARKS.md "Cost per update (issue 22)").
    """

    _answers: ClassVar[dict[type[Any], Any]] = {}

    @classmethod
    def keep_answer_model(cls, kind: type[TelegramMethod[Any]]) -> None:
        """Build (once) and keep the model ``kind``'s answers are read with."""
        if kind not in cls._answers:
            cls._answers[kind] = Response[kind.__returning__]  # type: ignore[name-defined]

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        self.keep_answer_model(type(method))
        return super().check_response(bot, method, status_code, content)


#: What every form calls and reads (a button's answer, the next question as an edit or a
#: message): their models, and their answers', are otherwise built by the first button
#: pressed after a start, 0.15-0.25 s of CPU in that update (docs/BENCHMARKS.md, "The
#: fourth round").
EVERYDAY_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
)
EVERYDAY_TYPES = (CallbackQuery, Message, InlineKeyboardMarkup)


def _everyday_builds() -> list[Callable[[], object]]:
    """One step each: a model of :data:`EVERYDAY_TYPES` or :data:`EVERYDAY_METHODS`, or a
    method's answer model. ``model_rebuild`` builds a model aiogram_models left deferred
    (and does nothing to one built already)."""
    steps: list[Callable[[], object]] = [kind.model_rebuild for kind in EVERYDAY_TYPES]
    for method in EVERYDAY_METHODS:
        steps.append(method.model_rebuild)
        steps.append(lambda method=method: _Session.keep_answer_model(method))  # type: ignore[misc]
    return steps


class AiogramTelegram(TelegramAdapterBase):
    """UpdateSource and Transport for Telegram through aiogram."""

    def __init__(self, token: str, api_base: str, *, request_timeout: float) -> None:
        session = _Session(
            api=TelegramAPIServer.from_base(api_base.rstrip("/")), timeout=request_timeout
        )
        self.bot = Bot(token=token, session=session)
        super().__init__(self.bot, CLASSES)

    async def _get_username(self) -> str:
        me = await self.bot.get_me()
        return me.username or ""

    async def close(self) -> None:
        await self.bot.session.close()

    async def warm_up(self) -> None:
        """Build the models every form needs now, while the bot is idle, a step at a time
        (an update that arrives meanwhile is handled between two steps), rather than in
        the first worker's button press."""
        started, built = time.process_time(), 0
        for build in _everyday_builds():
            await asyncio.sleep(0)
            try:
                build()
            except Exception as exc:  # built on first use after all, as without this
                log.warning("could not build an aiogram model ahead (%s)", type(exc).__name__)
            else:
                built += 1
        log.debug(
            "%d aiogram models built ahead in %.0f ms of CPU",
            built,
            (time.process_time() - started) * 1000,
        )

    async def _download(self, file_id: str) -> bytes:
        found = await self.bot.get_file(file_id)
        if not found.file_path:
            raise TransientSendError("getFile gave no file path")
        data = await self.bot.download_file(found.file_path)
        assert data is not None  # no destination given: the file's bytes in memory
        return data.read()

    # ------------------------------------------------------------ intake

    async def _get_updates(self, offset: int | None, timeout: int) -> list[Any]:
        method = GetRawUpdates(
            offset=offset, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES)
        )
        return await self.bot(method, request_timeout=timeout + POLL_TIMEOUT_MARGIN)

    def _parse_update(self, data: dict[str, Any]) -> Update:
        return Update.model_validate(data, context={"bot": self.bot})

    async def process(self, raw: RawUpdate) -> None:
        """Hand one update to the shared translation by its kind (one of ALLOWED_UPDATES).

        Not through aiogram's Dispatcher: its router, middlewares and handler
        introspection did only this (the bot has no filters, and keeps its conversations
        in its database rather than aiogram's FSM) for about 4 % of the bot's CPU under
        load (docs/BENCHMARKS.md, "The fifth round"). What a handler raises reaches the
        runtime as before.
        """
        update: Update | None = raw.payload
        if update is None:  # could not be parsed, only to be confirmed
            return
        if update.message is not None:
            await self._relay_message(update.update_id, update.message)
        elif update.edited_message is not None:
            await self._relay_edited(update.update_id)
        elif update.callback_query is not None:
            await self._relay_callback(update.update_id, update.callback_query)
        elif update.my_chat_member is not None:
            await self._relay_member(update.update_id, update.my_chat_member)

    # ------------------------------------------------------------ transport

    def _failure(self, exc: Exception) -> ApiFailure | None:
        if isinstance(exc, TelegramRetryAfter):
            return ApiFailure(Failure.RETRY_AFTER, exc.message, float(exc.retry_after))
        return failure_from(exc, FAILURES)


__all__ = ["AiogramTelegram"]
