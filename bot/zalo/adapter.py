"""Receiving from Zalo: an ``UpdateSource`` for the runtime's polling loop.

Zalo's getUpdates has no offset and no update id: each call hands over (and takes
off Zalo's queue) one update. So :meth:`ZaloAdapter.fetch` numbers what it gets
with a sequence of its own (the ordered intake only needs ids that grow), and the
id the dispatcher records in ``processed_updates`` is derived from the chat and
message ids (``updates.stable_update_id``): a redelivered message is handled once.
There is nothing to confirm, so the loop's closing ``fetch(offset, 0)`` fetches
nothing (a call would take an update off Zalo's queue that nobody handles).

For the same reason a long poll is never abandoned: Zalo hands an update to the call
that is open when it arrives, even one whose client has gone. When the polling loop
stops, the call goes on, and :meth:`ZaloAdapter.finish_open_poll` waits for it and
returns what it brought, to be handled before the process exits.

:meth:`ZaloAdapter.process` reads the update into an ``Incoming``: a reply that
picks one of the choices last shown in the chat (``channel_choices``) becomes that
button's press; a photo's URL is stored under a short id (``channel_files``). A bare
number that is no choice on the list (``2`` under "1. Bỏ qua") is not handed to the flows
as a value: the bot asks what was meant (``choices.number_off_the_list``), in an outbox
row of its own, the update recorded as handled in the same transaction.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.polling import RawUpdate
from bot.zalo import CHANNEL
from bot.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.zalo.choices import number_off_the_list
from bot.zalo.files import remember_photo
from bot.zalo.updates import BadUpdate, ShownChoices, ZaloUpdate, parse, to_incoming
from handlers.context import PRIORITY_REPLY, language_of
from handlers.dispatch import utc_now
from handlers.events import Incoming, OutMessage
from handlers.i18n import Catalogue, get_catalogue
from storage.models import Person
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

OnIncoming = Callable[[Incoming], Awaitable[None]]


class ZaloAdapter:
    channel = CHANNEL

    def __init__(
        self,
        api: ZaloApi,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utc_now,
        catalogue: Catalogue | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self._catalogue = catalogue or get_catalogue()
        self._wake = wake  # the outbox sender's: a row to send is waiting
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._sequence = itertools.count(1)
        self._on_incoming: OnIncoming | None = None
        self._open_poll: asyncio.Future[list[dict[str, Any]]] | None = None
        self.name = ""

    async def start(self, on_incoming: OnIncoming) -> str:
        """Learn who the bot is (getMe); returns its account name."""
        self._on_incoming = on_incoming
        me = await self.api.get_me()
        self.name = str(me.get("account_name") or me.get("display_name") or me.get("id") or "")
        return self.name

    def wrap(self, data: Any) -> RawUpdate:
        """An update as the intake takes it: a fresh sequence number and its chat's key."""
        number = next(self._sequence)
        try:
            key = parse(data).chat_key
        except BadUpdate:
            key = f"{CHANNEL}:update:{number}"
        return RawUpdate(number, key, data)

    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]:
        if timeout <= 0:
            return []  # the loop confirming its offset: Zalo has none
        poll = asyncio.ensure_future(self.api.get_updates(timeout))
        self._open_poll = poll
        try:
            # Cancelling this fetch (the loop stopping) leaves the call itself running.
            found = await asyncio.shield(poll)
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._open_poll = None
            raise
        self._open_poll = None
        return [self.wrap(data) for data in found]

    async def finish_open_poll(self) -> list[RawUpdate]:
        """What the long poll still open when the loop stopped brings (up to its timeout)."""
        poll, self._open_poll = self._open_poll, None
        if poll is None:
            return []
        if not poll.done():
            log.info("zalo: stopping; waiting for the open long poll to end")
        try:
            found = await poll
        except (ZaloApiError, ZaloNetworkError) as exc:
            log.warning("zalo: the last long poll failed (%s)", type(exc).__name__)
            return []
        return [self.wrap(data) for data in found]

    async def process(self, raw: RawUpdate) -> None:
        read = await self._read(raw.payload)
        if read is None:
            return
        update, shown = read
        if shown is not None and update.text is not None and not update.photo_url:
            number = number_off_the_list(update.text, shown.choices)
            if number is not None:
                await self._ask_which(update, number, len(shown.choices))
                return
        if self._on_incoming is not None:
            await self._on_incoming(to_incoming(update, shown))

    async def translate(self, data: Any) -> Incoming | None:
        read = await self._read(data)
        return to_incoming(*read) if read is not None else None

    async def _read(self, data: Any) -> tuple[ZaloUpdate, ShownChoices | None] | None:
        try:
            update = parse(data)
        except BadUpdate as exc:
            # Never the content: people's messages stay out of the log.
            log.warning("zalo: an update was skipped (%s)", exc)
            return None
        if update.photo_url is not None:
            await remember_photo(self._sessionmaker, update.photo_url, clock=self._clock)
        shown = await self._shown(update.chat_id) if update.chat_kind == "private" else None
        return update, shown

    async def _ask_which(self, update: ZaloUpdate, number: int, count: int) -> None:
        """Say that ``number`` is not on the list, and how to give a value instead."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await uow.lock_chat(update.chat_key)
            now = self._clock()
            if not await uow.updates.claim(CHANNEL, update.update_id, now):
                return  # a redelivery: asked already
            person = await _person(uow, update.chat_id)
            lang = language_of(person) if person is not None else None
            text = self._catalogue.for_lang(lang)(
                "zalo.number_off_the_list", number=number, count=count
            )
            await uow.outbox.add(
                channel=CHANNEL,
                chat_id=update.chat_id,
                payload=OutMessage(text=text).to_json(),
                priority=PRIORITY_REPLY,
                now=now,
                person_id=person.id if person is not None else None,
            )
            await uow.commit()
        log.info("update %s:%s: a number off the list; asked", CHANNEL, update.update_id)
        self._wake()

    async def _shown(self, chat_id: str) -> ShownChoices | None:
        async with UnitOfWork(self._sessionmaker) as uow:
            row = await uow.channels.choices(CHANNEL, chat_id)
            if row is None:
                return None
            choices = [(str(label), str(data)) for label, data in row.choices]
            return ShownChoices(row.message_id, choices)

    async def close(self) -> None:
        await self.api.close()


async def _person(uow: UnitOfWork, chat_id: str) -> Person | None:
    """Who talks in this private Zalo chat, if the bot knows them."""
    return await uow.people.by_private_chat(CHANNEL, chat_id)
