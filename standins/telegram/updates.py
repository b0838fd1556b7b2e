"""The bot's update queue, with getUpdates' semantics.

Updates stay queued until the bot confirms them: a getUpdates with ``offset`` forgets every
update whose id is lower; a negative offset keeps only that many of the newest. ``timeout`` long
polls and returns as soon as an update arrives. A newer getUpdates ends the one still waiting
with 409, as Telegram does. ``allowed_updates`` is remembered and applies to updates created
after it was set. Update ids keep growing across resets, so a running bot's offset stays valid.

While a webhook is set, ``standins/telegram/webhook.py`` reads the same queue (``pending``) and
confirms updates one at a time (``remove``) as the webhook answers them 2xx; what it has not
confirmed stays for getUpdates once the webhook is deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from standins.telegram.errors import GET_UPDATES_TERMINATED, conflict
from standins.telegram.models import JSONDict, UpdateRecord

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What a bot gets when it never said, or sent an empty list.
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

MAX_LIMIT = 100


class UpdateQueue:
    def __init__(self, first_update_id: int = 1) -> None:
        self._next_id = first_update_id
        self._pending: list[UpdateRecord] = []
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._waiter: asyncio.Future[None] | None = None  # the getUpdates now long-polling
        self._poll_generation = 0
        self._stopped = False
        self.delivered_count = 0
        # Called (synchronously) whenever an update is queued: the webhook delivery loop.
        self.listeners: list[Callable[[], None]] = []

    def push(self, update_type: str, payload: JSONDict) -> UpdateRecord | None:
        """Queue an update; None when the bot's allowed_updates excludes its type."""
        if update_type not in self.allowed:
            return None
        record = UpdateRecord(self._next_id, update_type, payload, time.time())
        self._next_id += 1
        self._pending.append(record)
        self._wake()
        for listener in list(self.listeners):
            listener()
        return record

    def pending(self) -> list[UpdateRecord]:
        return list(self._pending)

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u.update_id >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def remove(self, update_id: int) -> bool:
        """Confirm one update (a webhook answered it 2xx); False if it was no longer queued."""
        for index, record in enumerate(self._pending):
            if record.update_id == update_id:
                del self._pending[index]
                return True
        return False

    def clear(self) -> None:
        self._pending.clear()

    def set_allowed(self, allowed: Iterable[str] | None) -> None:
        if allowed is None:
            return
        chosen = frozenset(allowed)
        self.allowed = chosen & ALL_UPDATE_TYPES if chosen else DEFAULT_UPDATE_TYPES

    def stop_polling(self) -> None:
        """End any waiting getUpdates with no updates (used when the server stops)."""
        self._stopped = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get_updates(
        self,
        offset: int | None,
        limit: int | None,
        timeout: float,
        allowed_updates: Iterable[str] | None,
    ) -> list[UpdateRecord]:
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # a poll still waiting sees it was superseded and ends with 409
        self.set_allowed(allowed_updates)
        if offset:
            self.confirm(offset)
        count = MAX_LIMIT if limit is None else min(max(limit, 1), MAX_LIMIT)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if generation != self._poll_generation:
                raise conflict(GET_UPDATES_TERMINATED)
            if self._pending:
                batch = self._pending[:count]
                self.delivered_count += len(batch)
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopped:
                return []
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, remaining)
            except TimeoutError:
                continue
