"""Photos between Zalo and the other messengers.

Zalo hands over a user's photo only as a URL on its own servers; the flows keep it
as ``FileRef(file_id="zalo:<hash>")`` and ``channel_files`` maps the id to the URL
(any length). When such a photo has to go to Telegram (a card for a support team
there), :class:`ForeignFiles` downloads it from Zalo and hands the Telegram adapter
an upload (``OutMessage.upload``), so Telegram never has to reach Zalo's servers
nor keep a URL that may expire; the temporary copy is removed once sent. Any other
message passes through untouched.

The other way (a Telegram file id to a Zalo chat) cannot work: Zalo's ``sendPhoto``
takes a public URL only, and a Telegram file URL would carry the bot's token. The
Zalo transport says where to open the file instead (see ``transport``).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.errors import PermanentSendError, TransientSendError
from bot.runtime.transport import Transport
from bot.zalo import CHANNEL
from bot.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.zalo.updates import file_id_for, is_zalo_file
from handlers.dispatch import utc_now
from handlers.events import AttachmentKind, OutMessage, Upload
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # Telegram takes photos of up to 10 MB


async def remember_photo(
    sessionmaker: async_sessionmaker[AsyncSession],
    url: str,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> str:
    """Store a Zalo photo URL under its short id (idempotent); returns the id."""
    file_id = file_id_for(url)
    async with UnitOfWork(sessionmaker) as uow:
        await uow.channels.add_file(
            file_id=file_id, channel=CHANNEL, url=url, mime_type="image/jpeg", now=clock()
        )
        await uow.commit()
    return file_id


class ForeignFiles:
    """Wraps another messenger's transport so that Zalo photos reach it as uploads."""

    def __init__(
        self,
        inner: Transport,
        api: ZaloApi,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        directory: Path | None = None,
    ) -> None:
        self.inner = inner
        self.channel = inner.channel
        self._api = api
        self._sessionmaker = sessionmaker
        self._max_bytes = max_bytes
        self._directory = directory

    async def send(self, chat_id: str, message: OutMessage) -> str:
        file = message.file
        if file is None or not is_zalo_file(file.file_id):
            return await self.inner.send(chat_id, message)
        async with UnitOfWork(self._sessionmaker) as uow:
            row = await uow.channels.file(file.file_id)
        if row is None:
            raise PermanentSendError("file_unknown", file.file_id)
        try:
            data, content_type = await self._api.download(row.url, max_bytes=self._max_bytes)
        except ZaloNetworkError as exc:
            raise TransientSendError(str(exc)) from None
        except ZaloApiError as exc:
            if exc.status >= 500:
                raise TransientSendError(str(exc)) from None
            # Gone from Zalo (or too big): let the other messenger try the URL itself.
            log.warning("zalo photo could not be downloaded (%s); sending its URL", exc.status)
            by_url = replace(message, file=replace(file, file_id=row.url))
            return await self.inner.send(chat_id, by_url)
        mime = content_type if content_type and content_type.startswith("image/") else None
        mime = mime or row.mime_type or "image/jpeg"
        suffix = mimetypes.guess_extension(mime) or ".jpg"
        photo = file.kind is AttachmentKind.PHOTO
        kind = AttachmentKind.PHOTO if photo else AttachmentKind.DOCUMENT
        with tempfile.TemporaryDirectory(prefix="zalo-", dir=self._directory) as folder:
            path = Path(folder) / f"zalo-photo{suffix}"
            await asyncio.to_thread(path.write_bytes, data)
            upload = Upload(kind, path.name, mime, str(path))
            return await self.inner.send(chat_id, replace(message, file=None, upload=upload))

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await self.inner.answer_callback(callback_id, text, alert)

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        await self.inner.set_commands(commands, language)
