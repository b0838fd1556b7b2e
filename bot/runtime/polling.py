"""Long polling whose offset is confirmed only after the updates are committed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.runtime.intake import OrderedIntake

log = logging.getLogger(__name__)

ERROR_BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30)
REFETCH_WAIT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class RawUpdate:
    """An update as the framework parsed it, with the key of the chat it belongs to.

    ``payload`` is None for an update the framework could not parse: there is nothing
    to do with it but confirm it, so that it is not delivered again and again.
    """

    update_id: int
    chat_key: str
    payload: Any


class UpdateSource(Protocol):
    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]:
        """One batch from ``offset`` on; updates up to ``known_through`` are already held.

        Telegram sends every unconfirmed update again on each poll, so a source may
        leave out (and need not parse) those the intake already holds.
        """
        ...


async def poll(
    source: UpdateSource,
    intake: OrderedIntake,
    process: Callable[[RawUpdate], Awaitable[None]],
    stop: asyncio.Event,
    *,
    timeout: int,
    on_first_fetch: Callable[[], None] | None = None,
) -> None:
    """Fetch updates until ``stop`` is set, then let the open ones finish and confirm them."""
    failures = 0
    while not stop.is_set():
        if on_first_fetch is not None:
            on_first_fetch()
            on_first_fetch = None
        fetch = asyncio.create_task(
            source.fetch(intake.offset, timeout, known_through=intake.highest)
        )
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if fetch not in done:
            # Stopping: what this poll would bring stays unconfirmed, so it comes again.
            fetch.cancel()
            await asyncio.wait({fetch})
            if not fetch.cancelled():
                fetch.exception()  # finished after all: taken, so never "unretrieved"
            break
        try:
            batch = fetch.result()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = ERROR_BACKOFF_SECONDS[min(failures, len(ERROR_BACKOFF_SECONDS) - 1)]
            failures += 1
            log.warning("getUpdates failed (%s); retrying in %s s", type(exc).__name__, delay)
            await _sleep_unless(stop, delay)
            continue
        failures = 0
        fresh = [u for u in batch if not intake.seen(u.update_id)]
        for update in fresh:
            await intake.submit(update.update_id, update.chat_key, _bind(process, update))
        if batch and not fresh:
            # Only updates still being handled came back: wait for one to finish.
            await intake.wait_progress(REFETCH_WAIT_SECONDS)
    await intake.drain()
    offset = intake.offset
    if offset is not None:
        try:
            await source.fetch(offset, 0)  # confirm what was handled before leaving
        except Exception as exc:
            log.warning("could not confirm the last offset (%s)", type(exc).__name__)


def _bind(
    process: Callable[[RawUpdate], Awaitable[None]], update: RawUpdate
) -> Callable[[], Awaitable[None]]:
    async def work() -> None:
        try:
            await process(update)
        except Exception:
            # The update counts as done either way (the worker has already set aside
            # what it could not handle); say so here rather than in a task nobody awaits.
            log.exception("update %s: processing failed", update.update_id)

    return work


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
