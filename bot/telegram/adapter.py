"""What a Telegram adapter does that is not about its framework.

:class:`TelegramAdapterBase` fetches and parses updates one by one (from getUpdates,
or one webhook body at a time), sets the webhook, relays each kind of update as an
:class:`~handlers.events.Incoming`, sends each :class:`~handlers.events.OutMessage`,
and turns every failed call into the neutral errors of :mod:`bot.runtime.errors`. An
adapter adds only what its framework does: building the Bot, the raw getUpdates call
and parsing one update, handing each kind of update on (aiogram by the update's field,
python-telegram-bot through its Application), and which of its
exception classes means which :class:`~bot.telegram.failures.Failure`.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bot.runtime.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.runtime.polling import RawUpdate
from bot.telegram import sending
from bot.telegram.botapi import (
    TgBotApi,
    TgCallbackQuery,
    TgChatMemberUpdated,
    TgClasses,
    TgMessage,
    TgUpdate,
)
from bot.telegram.constants import ALLOWED_UPDATES, CHANNEL
from bot.telegram.failures import ApiFailure
from bot.telegram.incoming import callback_to_incoming, member_to_incoming, message_to_incoming
from bot.telegram.updates import parse_one, parse_updates, update_id_of
from handlers.events import FileRef, Incoming, OutMessage, Upload

log = logging.getLogger(__name__)

# setWebhook / deleteWebhook at start: flood control (several instances starting at
# once) and network errors are waited out this many times, with these pauses.
SETUP_ATTEMPTS = 5
SETUP_BACKOFF_SECONDS: Sequence[float] = (1.0, 2.0, 5.0, 10.0)

OnIncoming = Callable[[Incoming], Awaitable[None]]


def file_origin(file_id: str) -> tuple[str, str] | None:
    """(route, that bot's own id) of a file a bot of the deployment received: the main
    bot's ids as Telegram gave them (they never hold a colon), a further bot's as
    "telegram.<name>:<id>". None for anything else (a URL): sent as it is."""
    route, colon, own = file_id.partition(":")
    if not colon:
        return CHANNEL, file_id
    if not route.startswith(f"{CHANNEL}."):
        return None
    return route, own


T = TypeVar("T")


class TelegramAdapterBase(ABC):
    """UpdateSource and Transport for Telegram, less what is about the framework.

    A subclass builds its Bot (``api``), names its classes for what is sent, and
    implements the abstract hooks below; everything public but ``process`` (which hands
    each kind of update to a ``_relay_*``) and ``close`` lives here.
    """

    def __init__(self, api: TgBotApi, classes: TgClasses) -> None:
        # The route this bot's updates come through and its messages go out by: "telegram"
        # for the main token, "telegram.<name>" for another bot of the deployment
        # (handlers.events.family_of); set by bot.telegram.channel.make_telegram.
        self.channel = CHANNEL
        # The deployment's bots by route, this one too (bot.telegram.channel fills it): a
        # file another bot received is fetched through that bot (:meth:`send`).
        self.peers: dict[str, TelegramAdapterBase] = {}
        self._api = api
        self._classes = classes
        self.username = ""
        # The dashboard's Mini App (https), for the menu buttons; empty: none.
        self.mini_app = ""
        self._on_incoming: OnIncoming | None = None

    # ------------------------------------------------------------ start

    async def start(self, on_incoming: OnIncoming) -> str:
        """Learn who the bot is; returns its username."""
        self._on_incoming = on_incoming
        self.username = await self._get_username()
        return self.username

    @abstractmethod
    async def warm_up(self) -> None:
        """Do, once the bot is up and while it waits, the one-off work the framework would
        otherwise do in the first updates it handles."""

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
            if self.channel != CHANNEL:  # the chat is this bot's; the person the family's
                incoming = replace(
                    incoming,
                    chat=replace(incoming.chat, channel=self.channel),
                    files=tuple(
                        replace(f, file_id=f"{self.channel}:{f.file_id}") for f in incoming.files
                    ),
                )
            await self._on_incoming(incoming)

    # ------------------------------------------------------------ transport

    async def send(self, chat_id: str, message: OutMessage) -> str:
        """Send (or edit) ``message``; returns its message id. Raises neutral errors.

        A file's id is the bot's that received it (a file id is good for that bot only):
        a further bot's ids carry its route, "telegram.<name>:<id>". A file received by
        another bot of the deployment is fetched through that bot and uploaded here.
        """
        file = message.file
        if file is not None and (origin := file_origin(file.file_id)) is not None:
            route, file_id = origin
            if route != self.channel:
                return await self._send_carried(chat_id, message, file, route, file_id)
            message = replace(message, file=replace(file, file_id=file_id))
        unchanged = message.edit_message_id
        return await self._neutral(self._send(chat_id, message), unchanged=unchanged)

    async def _send_carried(
        self, chat_id: str, message: OutMessage, file: FileRef, route: str, file_id: str
    ) -> str:
        peer = self.peers.get(route)
        if peer is None:  # a bot no longer in telegram.bots
            raise PermanentSendError("file_of_another_bot", route)
        data = await peer._neutral(peer._download(file_id))
        with tempfile.TemporaryDirectory(prefix="carried-") as folder:
            name = Path(
                file.file_name or f"file{mimetypes.guess_extension(file.mime_type or '') or ''}"
            ).name
            path = Path(folder) / name
            await asyncio.to_thread(path.write_bytes, data)
            upload = Upload(
                file.kind, name, file.mime_type or "application/octet-stream", str(path)
            )
            carried = replace(message, file=None, upload=upload)
            return await self._neutral(self._send(chat_id, carried))

    @abstractmethod
    async def _download(self, file_id: str) -> bytes:
        """A file this bot received, by its id (getFile, then the file itself)."""

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await self._neutral(
            self._api.answer_callback_query(
                callback_query_id=callback_id, text=text or None, show_alert=alert
            )
        )

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        """Set the command menu for one language (None: the default for everyone)."""
        await self._neutral(
            self._api.set_my_commands(
                commands=sending.bot_commands(self._classes, commands),
                scope=self._classes.bot_command_scope_default(),
                language_code=language,
            )
        )

    async def _send(self, chat_id: str, message: OutMessage) -> str:
        return await sending.send(
            self._api, self._classes, chat_id, message, mini_app=self.mini_app
        )

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
