"""What happens to one neutral update: handle and commit, answer the button, send the replies.

Two things protect the others from one person: an update from someone sending faster
than :class:`InputRate` allows is recorded unhandled (one "slow down" per burst), and
a button press whose handling takes longer than ``button_grace`` (a locked database,
retries) is answered at once, because Telegram drops a press not answered within about
15 s; an answer text the late outcome carried is then said as a message.
"""

from __future__ import annotations

import asyncio
import logging

from bot.runtime.input_rate import InputRate, Verdict
from bot.runtime.intake import arrived_at
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from handlers.dispatch import Dispatcher
from handlers.events import Incoming, Outcome

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = 0.2
BUTTON_GRACE_SECONDS = 2.0


class UpdateWorker:
    def __init__(
        self,
        dispatcher: Dispatcher,
        sender: OutboxSender,
        transport: Transport,
        *,
        max_attempts: int,
        input_rate: InputRate | None = None,
        button_grace: float = BUTTON_GRACE_SECONDS,
    ) -> None:
        self._dispatcher = dispatcher
        self._sender = sender
        self._transport = transport
        self._max_attempts = max_attempts
        self._input_rate = input_rate
        self._button_grace = button_grace
        self.handled = 0
        self.dropped = 0

    async def __call__(self, incoming: Incoming) -> None:
        verdict = self._verdict(incoming)
        if verdict is not Verdict.ADMIT:
            outcome = await self._dispatcher.throttled(incoming, warn=verdict is Verdict.WARN)
            await self._answer(incoming, outcome)
            await self._sender.deliver(outcome.replies)
            self.dropped += 1
            return
        if incoming.callback_id is None:
            outcome = await self._handle(incoming)
            await self._finish(incoming, outcome)
            return
        # Telegram gives up on a press not answered soon: past the grace it is answered
        # now, empty, while the handling goes on (a timer rather than a task and a
        # wait_for for every press: most never need it).
        answering: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self._button_grace,
            lambda: answering.append(asyncio.create_task(self._answer(incoming, Outcome()))),
        )
        try:
            outcome = await self._handle(incoming)
        finally:
            timer.cancel()
        if not answering:
            await self._finish(incoming, outcome)
            return
        await answering[0]
        answer = outcome.callback_answer
        if answer is not None and answer.text and not outcome.duplicate:
            try:
                late = await self._dispatcher.answer_late(incoming, answer.text)
            except Exception:
                log.exception("update %s: could not queue a late answer", incoming.update_id)
            else:
                outcome.replies.extend(late.replies)
        outcome.callback_answer = None
        await self._finish(incoming, outcome, answered=True)

    def _verdict(self, incoming: Incoming) -> Verdict:
        arrived = arrived_at()
        if self._input_rate is None or arrived is None:  # taken in again after a restart
            return Verdict.ADMIT
        sender = f"{incoming.sender.channel}:{incoming.sender.external_id}"
        return self._input_rate.admit(sender, arrived)

    async def _finish(
        self, incoming: Incoming, outcome: Outcome, *, answered: bool = False
    ) -> None:
        if not answered:
            await self._answer(incoming, outcome)
        await self._sender.deliver(outcome.replies)
        if outcome.notifications:
            self._sender.wake()
        self.handled += 1

    async def _answer(self, incoming: Incoming, outcome: Outcome) -> None:
        if incoming.callback_id is None:
            return
        answer = outcome.callback_answer
        try:
            await self._transport.answer_callback(
                incoming.callback_id,
                answer.text if answer else "",
                answer.alert if answer else False,
            )
        except Exception as exc:  # an expired query must not hold up the replies
            log.info("could not answer callback (%s)", type(exc).__name__)

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
