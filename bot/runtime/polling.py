"""Long polling that never confirms an update before it is safe.

Without an inbox, the offset is moved only past updates whose work has committed, so
Telegram sends every update still being handled again on each poll. With an inbox
(:class:`storage.inbox.Inbox`, as the bot runs), each fetched batch is stored first and
the offset moves past it at once: every poll brings only new updates, and what a
crash interrupts is handled from the inbox at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.runtime.intake import OrderedIntake

log = logging.getLogger(__name__)

ERROR_BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30)
REFETCH_WAIT_SECONDS = 0.5
# Pauses between tries of an update whose processing failed as a whole, about two
# minutes in all: long enough to ride out a database restart or fail-over, short
# enough that an update which can never be handled does not hold up its chat for ever.
PROCESS_RETRY_SECONDS = (0.5, 1, 2, 5, 10, 30, 30, 30)


@dataclass(frozen=True, slots=True)
class RawUpdate:
    """An update as the framework parsed it, with the key of the chat it belongs to.

    ``payload`` is None for an update the framework could not parse: there is nothing
    to do with it but confirm it, so that it is not delivered again and again.
    ``data`` is the update's JSON as received, for the inbox.
    """

    update_id: int
    chat_key: str
    payload: Any
    data: Any = None


class UpdateSource(Protocol):
    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]:
        """One batch from ``offset`` on; updates up to ``known_through`` are already held.

        Telegram sends every unconfirmed update again on each poll, so a source may
        leave out (and need not parse) those the intake already holds.
        """
        ...


class UpdateStore(Protocol):
    """Where fetched updates are kept until handled (see :class:`storage.inbox.Inbox`)."""

    async def store(
        self, updates: Sequence[tuple[int, Any]], *, now: datetime, forget: Iterable[int] = ()
    ) -> None: ...

    async def forget(self, update_ids: Iterable[int]) -> None: ...

    async def pending(self) -> tuple[list[tuple[int, Any]], int | None]: ...


@dataclass(slots=True)
class Inboxed:
    """An inbox and how to read back what it stored (the source's ``wrap``)."""

    store: UpdateStore
    wrap: Callable[[Any], RawUpdate | None]


async def poll(
    source: UpdateSource,
    intake: OrderedIntake,
    process: Callable[[RawUpdate], Awaitable[None]],
    stop: asyncio.Event,
    *,
    timeout: int,
    on_first_fetch: Callable[[], None] | None = None,
    inbox: Inboxed | None = None,
) -> None:
    """Fetch updates until ``stop`` is set, then let the open ones finish and confirm them."""
    failures = 0
    # Handled updates whose inbox rows are still to be dropped.
    handled: list[int] | None = [] if inbox is not None else None
    if inbox is not None:
        await _replay(inbox, intake, process, handled, stop)
    while not stop.is_set():
        if on_first_fetch is not None:
            on_first_fetch()
            on_first_fetch = None
        offset = intake.offset if inbox is None else _past(intake.highest)
        fetch = asyncio.create_task(source.fetch(offset, timeout, known_through=intake.highest))
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
            await sleep_unless(stop, delay)
            continue
        fresh = [u for u in batch if not intake.seen(u.update_id)]
        if inbox is not None and handled is not None and (fresh or handled):
            forget = list(handled)
            try:
                await inbox.store.store(
                    [(u.update_id, u.data) for u in fresh], now=datetime.now(UTC), forget=forget
                )
            except Exception as exc:
                # Not stored, so not taken in: the next poll (same offset) brings them again.
                delay = ERROR_BACKOFF_SECONDS[min(failures, len(ERROR_BACKOFF_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "could not store updates (%s); retrying in %s s", type(exc).__name__, delay
                )
                await sleep_unless(stop, delay)
                continue
            del handled[: len(forget)]
        failures = 0
        for update in fresh:
            await intake.submit(
                update.update_id, update.chat_key, _bind(process, update, handled, stop)
            )
        if inbox is None and batch and not fresh:
            # Only updates still being handled came back: wait for one to finish.
            await intake.wait_progress(REFETCH_WAIT_SECONDS)
    await intake.drain()
    if inbox is not None and handled:
        try:
            await inbox.store.forget(handled)
        except Exception as exc:  # they are found handled at the next start
            log.warning("could not clear the inbox (%s)", type(exc).__name__)
    offset = intake.offset if inbox is None else _past(intake.highest)
    if offset is not None:
        try:
            await source.fetch(offset, 0)  # confirm what was handled before leaving
        except Exception as exc:
            log.warning("could not confirm the last offset (%s)", type(exc).__name__)


async def _replay(
    inbox: Inboxed,
    intake: OrderedIntake,
    process: Callable[[RawUpdate], Awaitable[None]],
    done: list[int] | None,
    stop: asyncio.Event,
) -> None:
    """Take in what an earlier run stored but did not handle, before anything new."""
    pending, highest = await inbox.store.pending()
    if pending:
        log.info("%d updates from the inbox to handle first", len(pending))
    for update_id, data in pending:
        update = inbox.wrap(data)
        if update is None or update.update_id != update_id:
            update = RawUpdate(update_id, f"inbox:{update_id}", None, data)
        # Not fresh: they arrived before the restart, so no input rate applies to them.
        await intake.submit(
            update.update_id, update.chat_key, _bind(process, update, done, stop), fresh=False
        )
    if highest is not None:
        intake.taken_through(highest)


def _past(highest: int | None) -> int | None:
    """The offset that confirms every update up to ``highest``."""
    return None if highest is None else highest + 1


def _bind(
    process: Callable[[RawUpdate], Awaitable[None]],
    update: RawUpdate,
    done: list[int] | None,
    stop: asyncio.Event,
) -> Callable[[], Awaitable[None]]:
    """The intake's work for one update: process it, and on success count it as done
    (``done``: the inbox rows to drop).

    ``process`` only fails as a whole when not even the worker's apology could be
    committed (it retries an update and sets a failing one aside itself): the database
    is away. So the update is tried again after pauses, its chat's later updates waiting
    behind it. If it still fails, or the bot is stopping, it is left in the inbox (not
    counted as done), which hands it in first at the next start; the chat goes on.
    """

    async def work() -> None:
        pauses = iter(PROCESS_RETRY_SECONDS)
        left = "left in the inbox for the next start" if done is not None else "dropped"
        while True:
            try:
                await process(update)
            except Exception as exc:
                pause = next(pauses, None)
                if pause is None or stop.is_set():
                    # Said here rather than in a task nobody awaits.
                    log.exception("update %s: processing failed; %s", update.update_id, left)
                    return
                log.warning(
                    "update %s: processing failed (%s); trying again in %s s",
                    update.update_id,
                    type(exc).__name__,
                    pause,
                )
                if await sleep_unless(stop, pause):
                    log.warning(
                        "update %s: stopping before it could be handled; %s", update.update_id, left
                    )
                    return
                continue
            if done is not None:
                done.append(update.update_id)
            return

    return work


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less once ``stop`` is set; True when stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
