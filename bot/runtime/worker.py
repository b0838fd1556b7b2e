"""What happens to one neutral update: handle and commit, answer the button, send the replies."""

from __future__ import annotations

import asyncio
import logging

from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from handlers.dispatch import Dispatcher
from handlers.events import Incoming, Outcome

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = 0.2


class UpdateWorker:
    def __init__(
        self,
        dispatcher: Dispatcher,
        sender: OutboxSender,
        transport: Transport,
        *,
        max_attempts: int,
    ) -> None:
        self._dispatcher = dispatcher
        self._sender = sender
        self._transport = transport
        self._max_attempts = max_attempts
        self.handled = 0

    async def __call__(self, incoming: Incoming) -> None:
        outcome = await self._handle(incoming)
        if incoming.callback_id is not None:
            answer = outcome.callback_answer
            try:
                await self._transport.answer_callback(
                    incoming.callback_id,
                    answer.text if answer else "",
                    answer.alert if answer else False,
                )
            except Exception as exc:  # an expired query must not hold up the replies
                log.info("could not answer callback (%s)", type(exc).__name__)
        await self._sender.deliver(outcome.replies)
        if outcome.notifications:
            self._sender.wake()
        self.handled += 1

    async def _handle(self, incoming: Incoming) -> Outcome:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._dispatcher.handle(incoming)
            except Exception:
                log.exception(
                    "update %s:%s failed (attempt %d of %d)",
                    incoming.channel,
                    incoming.update_id,
                    attempt,
                    self._max_attempts,
                )
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * attempt)
        # The update cannot be handled (a bug or bad data): set it aside with an
        # apology so one poisoned update never stalls the chat or the whole bot.
        return await self._dispatcher.set_aside(incoming)
