"""Sending to Zalo: the runtime's ``Transport`` for the ``zalo`` channel.

Each ``OutMessage`` goes out as plain text with its buttons as a numbered list,
split into parts of at most 2,000 characters (the choices with the last part);
the choices shown are written to ``channel_choices`` so the next reply is read
against them, even after a restart. Zalo cannot edit a message: an edit is sent
as a new message (and the choices of the message it replaces are forgotten when it
offers none); a question to be answered in words (Telegram's forced reply) puts every
earlier list out of reach. A Zalo photo is sent again by its URL; a file Zalo cannot take (a
Telegram file id, a chart the bot made) becomes a line saying where to open it.

The review of an idea form shows the idea cut to ``REVIEW_BODY_CHARS`` (Telegram's one
message); Zalo sends a long text in parts anyway, so there the whole idea is put back in
place of the cut one, and the worker reads all of it before submitting.

Zalo publishes no rate limits: every call (each part of a long text counts) also
waits on this channel's own limiter, configured in ``zalo.send_*``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.errors import PermanentSendError, RetryAfter, SendError, TransientSendError
from bot.runtime.limiter import SendLimiter
from bot.zalo import CHANNEL
from bot.zalo.api import MAX_TEXT_CHARS, ZaloApi, ZaloApiError, ZaloNetworkError
from bot.zalo.render import Choice, html_to_plain, render, split_text
from bot.zalo.updates import is_zalo_file
from bot.zalo.wording import ZaloWording
from handlers.context import language_of
from handlers.dispatch import utc_now
from handlers.events import AttachmentKind, OutMessage
from handlers.flows.idea_draft import REVIEW_BODY_CHARS
from handlers.i18n import Catalogue
from handlers.textnorm import ELLIPSIS, truncate
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_AFTER = 5.0


def send_error(exc: ZaloApiError | ZaloNetworkError) -> SendError:
    """What the outbox sender should do about a failed call."""
    if isinstance(exc, ZaloNetworkError):
        return TransientSendError(str(exc))
    code, text = exc.code, exc.description.lower()
    if code == 429:
        return RetryAfter(exc.retry_after or DEFAULT_RETRY_AFTER)
    if code >= 500 or exc.status >= 500:
        return TransientSendError(f"{exc.method}: {code}")
    if code == 403 or "block" in text:
        return PermanentSendError("blocked", exc.description)
    if code == 404 or "not found" in text:
        return PermanentSendError("chat_not_found", exc.description)
    if code == 401:
        return PermanentSendError("api_error", "unauthorized")
    return PermanentSendError("bad_request", exc.description)


class ZaloTransport:
    channel = CHANNEL

    def __init__(
        self,
        api: ZaloApi,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        *,
        limiter: SendLimiter | None = None,
        clock: Callable[[], datetime] = utc_now,
        wording: ZaloWording | None = None,
    ) -> None:
        self._api = api
        self._wording = wording or ZaloWording.load()
        self._sessionmaker = sessionmaker
        self._catalogue = catalogue
        self._limiter = limiter
        self._clock = clock

    async def send(self, chat_id: str, message: OutMessage) -> str:
        """Send ``message`` (an edit as a new message); returns the last part's id (for an
        edit, the id of the message it replaces)."""
        try:
            return await self._send(chat_id, message)
        except (ZaloApiError, ZaloNetworkError) as exc:
            raise send_error(exc) from None

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        """No pop-ups on Zalo: a notice the flow gives a pick is sent as a message."""
        if not text.strip():
            return
        plain = html_to_plain(self._wording.apply(text))
        try:
            await self._paced(
                callback_id, partial(self._api.send_message, callback_id, _fit(plain))
            )
        except (ZaloApiError, ZaloNetworkError) as exc:
            raise send_error(exc) from None

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        """Zalo has no command menu: nothing to set."""

    async def _send(self, chat_id: str, message: OutMessage) -> str:
        # Texts that speak of buttons get their Zalo words (numbers and words).
        text = self._wording.apply(message.text)
        if ELLIPSIS in text:
            text = await self._whole_draft(chat_id, text)
        message = replace(message, text=text)
        photo_url: str | None = None
        if message.file is not None:
            if message.file.kind is AttachmentKind.PHOTO and is_zalo_file(message.file.file_id):
                photo_url = await self._file_url(message.file.file_id)
            if photo_url is None:
                message = await self._with_note(chat_id, message)
        elif message.upload is not None:
            message = await self._with_note(chat_id, message)
        rendered = render(message)
        parts = [p for p in rendered.parts if p.strip()]
        message_id = ""
        if photo_url is not None:
            caption = parts.pop(0) if len(parts) == 1 else None
            send_photo = partial(self._api.send_photo, chat_id, photo_url, caption)
            sent = await self._paced(chat_id, send_photo)
            message_id = _message_id(sent)
        for part in parts:
            sent = await self._paced(chat_id, partial(self._api.send_message, chat_id, part))
            message_id = _message_id(sent)
        # An edit sent anew stands for the message it replaces, as on Telegram: its choices
        # are kept under that id, so the next edit of it (a decided card) takes them away.
        shown_as = message.edit_message_id or message_id
        await self._remember(chat_id, message, rendered.choices, shown_as)
        return shown_as

    async def _paced(self, chat_id: str, call: Callable[[], Awaitable[T]]) -> T:
        if self._limiter is not None:
            await self._limiter.acquire(f"{CHANNEL}:{chat_id}", group=False, priority=0)
        return await call()

    async def _remember(
        self, chat_id: str, message: OutMessage, choices: list[Choice], message_id: str
    ) -> None:
        """The choices on screen now; a failure here must not make the message go twice."""
        if not choices and message.edit_message_id is None and not message.force_reply:
            return
        try:
            async with UnitOfWork(self._sessionmaker) as uow:
                if choices:
                    await uow.channels.show_choices(
                        CHANNEL, chat_id, message_id=message_id, choices=choices, now=self._clock()
                    )
                elif message.force_reply:
                    # A question to be answered in words: no earlier list may catch the answer.
                    await uow.channels.forget_choices(CHANNEL, chat_id)
                elif message.edit_message_id is not None:
                    await uow.channels.forget_choices(CHANNEL, chat_id, message.edit_message_id)
                await uow.commit()
        except Exception:
            log.exception("zalo: could not remember the choices shown in a chat")

    async def _whole_draft(self, chat_id: str, text: str) -> str:
        """``text`` with the chat's idea draft in full where it shows it cut."""
        async with UnitOfWork(self._sessionmaker) as uow:
            state = await uow.conversations.get(f"{CHANNEL}:{chat_id}")
        body = state.data.get("body") if state is not None else None
        if not isinstance(body, list) or not all(isinstance(part, str) for part in body):
            return text
        whole = "\n\n".join(body)
        cut = truncate(whole, REVIEW_BODY_CHARS)
        if cut == whole:
            return text
        return text.replace(html.escape(cut), html.escape(whole), 1)

    async def _file_url(self, file_id: str) -> str | None:
        async with UnitOfWork(self._sessionmaker) as uow:
            row = await uow.channels.file(file_id)
            return row.url if row is not None else None

    async def _with_note(self, chat_id: str, message: OutMessage) -> OutMessage:
        """The file cannot go to Zalo: say where it can be opened instead."""
        lang = "vi"
        async with UnitOfWork(self._sessionmaker) as uow:
            person = await uow.people.by_private_chat(CHANNEL, chat_id)
            if person is not None:
                lang = language_of(person)
        note = html.escape(self._catalogue.for_lang(lang)("zalo.file_elsewhere"))
        text = f"{message.text}\n\n{note}" if message.text.strip() else note
        return replace(message, text=text, file=None, upload=None)


def _message_id(result: dict[str, Any]) -> str:
    return str(result.get("message_id") or "")


def _fit(text: str) -> str:
    return split_text(text.strip() or "…", MAX_TEXT_CHARS)[0]
