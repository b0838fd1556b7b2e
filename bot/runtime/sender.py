"""The outbox sender: delivers queued messages after their transaction commits.

Replies to the person typing are sent straight after their update commits
(:meth:`OutboxSender.deliver`); everything else, and any reply whose first try
failed or was cut short by a crash, is drained by :meth:`OutboxSender.run`,
oldest and most urgent first, retried with backoff on temporary failures and
given up on permanent ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.errors import MessageGone, PermanentSendError, RetryAfter, SendError
from bot.runtime.limiter import SendLimiter
from bot.runtime.transport import Transport
from handlers.context import Scope
from handlers.dispatch import utc_now
from handlers.events import OutMessage, family_of
from handlers.i18n import Catalogue
from handlers.team import AUTHOR_PURPOSE, tell_team_author_unreachable
from storage.instances import instance_name
from storage.models import OutboxMessage
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 100
IDLE_POLL_SECONDS = 1.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
# The lease the drainer takes on the rows it will send: long enough for a batch to
# get through the send limiter, short enough that rows a dead instance held are
# taken over soon. A row whose lease is about to run out is not sent (another
# instance may take it): it is left for the next claim.
DRAIN_LEASE = timedelta(seconds=120)
# At most this many of one chat's rows in a claim: at Telegram's 20 a minute for a
# group they take a minute, well inside the lease.
PER_CHAT = 20
LEASE_MARGIN = timedelta(seconds=2)


@dataclass(slots=True)
class _Result:
    row_id: int
    message_id: str | None = None
    retry_at: datetime | None = None
    failed: str | None = None
    unreachable_person: int | None = None
    unreachable_author_of: int | None = None  # the idea whose author could not be told
    row: OutboxMessage | None = None  # the row a person could not be reached by


class OutboxSender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transports: dict[str, Transport],
        limiter: SendLimiter,
        *,
        max_attempts: int,
        clock: Callable[[], datetime] = utc_now,
        catalogue: Catalogue | None = None,
        instance: str | None = None,
        limiters: dict[str, SendLimiter] | None = None,
    ) -> None:
        self.instance = instance_name(instance or "")
        self._sessionmaker = sessionmaker
        self._transports = transports
        self._limiter = limiter
        # Channels with limits of their own (each further Telegram bot: Telegram counts
        # its 30 a second per bot); the others share ``limiter``.
        self.limiters = {} if limiters is None else limiters
        self._max_attempts = max_attempts
        self._clock = clock
        self._catalogue = catalogue
        self._in_flight: set[int] = set()
        # Leases this instance's previous life held (before a crash or a stop) have
        # nobody sending them any more: the first drain gives them up.
        self._started_at = clock()
        self._released = False
        self._wakeup = asyncio.Event()
        self._route_wakeups: list[asyncio.Event] = []  # a drain loop's each (several bots)
        self._releasing = asyncio.Lock()
        self._stopping = False
        self._sent = _SentRecords(sessionmaker, clock)
        self.sent = 0
        self.failed = 0

    def wake(self) -> None:
        self._wakeup.set()
        for event in self._route_wakeups:
            event.set()

    def stop(self) -> None:
        """Let :meth:`run` finish the round in hand (so no send goes unrecorded) and return."""
        self._stopping = True
        self.wake()

    async def deliver(self, rows: Sequence[OutboxMessage]) -> None:
        """Send the replies one update produced (leased to this instance), in order, now."""
        if not rows:
            return
        ids = [row.id for row in rows]
        self._in_flight.update(ids)
        try:
            finished = await self._send_chain(list(rows))
        finally:
            self._in_flight.difference_update(ids)
        if not finished:  # a retry, or a lease that ran out: the drainer takes over
            self.wake()

    async def run(self) -> None:
        """Drain due outbox rows until :meth:`stop`.

        With several bots (channels with a limiter of their own, docs/BOTS.md) each is
        drained by a loop of its own, and everything else by one more: a claim waits for
        all its rows to go, so a bot's backlog (an announcement to thousands) would
        otherwise hold up the other bots' messages while their own limits go unused.
        """
        routes = sorted(self.limiters)
        if not routes:
            await self._drain_loop(self._wakeup)
            return
        self._route_wakeups = [asyncio.Event() for _ in range(len(routes) + 1)]
        loops = [
            self._drain_loop(event, channels=[route])
            for route, event in zip(routes, self._route_wakeups, strict=False)
        ]
        loops.append(self._drain_loop(self._route_wakeups[-1], other_than=routes))
        await asyncio.gather(*loops)

    async def _drain_loop(
        self,
        wakeup: asyncio.Event,
        *,
        channels: Sequence[str] | None = None,
        other_than: Sequence[str] = (),
    ) -> None:
        while not self._stopping:
            try:
                busy = await self._drain_once(channels=channels, other_than=other_than)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox drain failed; trying again shortly")
                busy = False
            if not busy and not self._stopping:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), IDLE_POLL_SECONDS)

    async def _drain_once(
        self, *, channels: Sequence[str] | None = None, other_than: Sequence[str] = ()
    ) -> bool:
        now = self._clock()
        async with self._releasing:  # the first claims wait for an earlier run's release
            await self._release_earlier()
        async with UnitOfWork(self._sessionmaker) as uow:
            rows = await uow.outbox.claim_due(
                now,
                instance=self.instance,
                lease=DRAIN_LEASE,
                limit=BATCH,
                per_chat=PER_CHAT,
                channels=channels,
                other_than=other_than,
            )
            # A reply deliver() is still sending (its own lease ran out meanwhile) is
            # deliver()'s to finish: let it go rather than hold it for a whole lease.
            busy = [r.id for r in rows if r.id in self._in_flight]
            await uow.outbox.release(busy)
            await uow.commit()
        rows = [r for r in rows if r.id not in self._in_flight]
        if not rows:
            return False
        ids = [r.id for r in rows]
        self._in_flight.update(ids)
        try:
            by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
            for row in rows:
                by_chat[(row.channel, row.chat_id)].append(row)
            await asyncio.gather(*(self._send_chain(chain) for chain in by_chat.values()))
        finally:
            self._in_flight.difference_update(ids)
        return True

    async def _release_earlier(self) -> None:
        """Once, before the first claim: give up the leases this instance held in its
        previous life (before a crash or a stop); nobody is sending those any more."""
        if self._released:
            return
        async with UnitOfWork(self._sessionmaker) as uow:
            released = await uow.outbox.release_claims(
                self.instance, created_before=self._started_at
            )
            await uow.commit()
        if released:
            log.info("outbox: %d messages of an earlier run to send", released)
        self._released = True

    async def _send_chain(self, rows: list[OutboxMessage]) -> bool:
        """One chat's messages in order, each recorded as soon as it went: a crash
        right after a send re-sends that message alone. After a failure the rest
        wait for the next round (False)."""
        for done, row in enumerate(rows, start=1):
            if self._stopping:
                # Stopping: the rest wait for the next start (or another instance) rather
                # than hold up the stop for the chat's rate (a group: 3 s a message).
                await self._release([r.id for r in rows[done - 1 :]])
                return False
            result = await self._send(row)
            if result is None:
                if self._stopping:
                    await self._release([r.id for r in rows[done - 1 :]])
                return False  # the lease ran out: the rows are anybody's already
            left = [r.id for r in rows[done:]] if result.retry_at is not None else []
            await self._record([result], release=left)
            if result.retry_at is not None:
                return False
        return True

    async def _send(self, row: OutboxMessage) -> _Result | None:
        """Send one row; None when its lease ran out before it could go (not sent)."""
        transport = self._transports.get(row.channel)
        if transport is None:
            return _Result(row.id, failed=f"no transport for channel {row.channel}")
        message = OutMessage.from_json(row.payload)
        group = row.chat_id.startswith("-")
        limiter = self.limiters.get(row.channel, self._limiter)
        try:
            await limiter.acquire(
                f"{row.channel}:{row.chat_id}",
                group=group,
                priority=row.priority,
                # an edit, or a chat's command menu, adds no message to the chat
                new_message=message.edit_message_id is None and message.menu is None,
                paid=message.paid_broadcast,
            )
            if self._stopping:
                return None  # not sent: _send_chain gives the lease up
            if self._lease_lost(row):
                log.info("outbox %s: lease ran out before sending; left for the next claim", row.id)
                return None
            try:
                message_id = await transport.send(row.chat_id, message)
            except MessageGone:
                # The message to edit is gone: show the new state as a new message.
                message = OutMessage(text=message.text, buttons=message.buttons, file=message.file)
                message_id = await transport.send(row.chat_id, message)
        except RetryAfter as exc:
            limiter.pause_chat(f"{row.channel}:{row.chat_id}", exc.seconds)
            log.warning("outbox %s: rate limited for %.1f s", row.id, exc.seconds)
            return _Result(row.id, retry_at=self._clock() + timedelta(seconds=exc.seconds))
        except PermanentSendError as exc:
            log.warning("outbox %s: giving up (%s)", row.id, exc.reason)
            person = row.person_id if exc.unreachable else None
            idea = row.idea_id if person is not None and row.purpose == AUTHOR_PURPOSE else None
            return _Result(
                row.id,
                failed=exc.reason,
                unreachable_person=person,
                unreachable_author_of=idea,
                row=row if person is not None else None,
            )
        except SendError as exc:
            return self._retry_later(row, type(exc).__name__)
        except Exception as exc:  # a bug in an adapter must not stop the sender
            log.exception("outbox %s: unexpected send failure", row.id)
            return self._retry_later(row, type(exc).__name__)
        self.sent += 1
        return _Result(row.id, message_id=message_id)

    def _lease_lost(self, row: OutboxMessage) -> bool:
        until = row.claimed_until
        if until is None:
            return False
        if until.tzinfo is None:  # SQLite hands back naive UTC datetimes
            until = until.replace(tzinfo=UTC)
        return self._clock() > until - LEASE_MARGIN

    def _retry_later(self, row: OutboxMessage, error: str) -> _Result:
        if row.attempts + 1 >= self._max_attempts:
            return _Result(row.id, failed=f"gave up after {row.attempts + 1} tries: {error}")
        delay = min(BACKOFF_BASE_SECONDS * 2**row.attempts, BACKOFF_MAX_SECONDS)
        delay *= random.uniform(0.8, 1.2)  # spread retries so they don't arrive in step
        log.info("outbox %s: %s, retrying in %.1f s", row.id, error, delay)
        return _Result(row.id, retry_at=self._clock() + timedelta(seconds=delay), failed=error)

    async def _release(self, ids: Sequence[int]) -> None:
        """Give up the leases on rows this run will not send (it is stopping)."""
        try:
            async with UnitOfWork(self._sessionmaker) as uow:
                await uow.outbox.release(ids)
                await uow.commit()
        except Exception as exc:  # the next start releases its own leases anyway
            log.warning("outbox: could not give up %d leases (%s)", len(ids), type(exc).__name__)

    async def _record(self, results: Sequence[_Result], *, release: Sequence[int] = ()) -> None:
        """Record what became of sent rows; ``release`` gives up the lease on rows
        that now wait behind a retry of an earlier one."""
        if not results:
            return
        if not release and all(r.retry_at is None and r.failed is None for r in results):
            await self._sent.record([(r.row_id, r.message_id) for r in results])
            return
        now = self._clock()
        async with UnitOfWork(self._sessionmaker) as uow:
            await uow.outbox.release(release)
            for result in results:
                if result.retry_at is not None:
                    await uow.outbox.mark_retry(
                        result.row_id, at=result.retry_at, error=result.failed or "retry"
                    )
                elif result.failed is not None:
                    self.failed += 1
                    await uow.outbox.mark_failed(result.row_id, error=result.failed, now=now)
                    if result.row is not None and await self._another_bot(uow, result.row, now):
                        continue  # the person blocked this bot, not the others they use
                    if result.unreachable_person is not None:
                        person = await uow.people.get(result.unreachable_person)
                        if person is not None:
                            person.unreachable = True
                    if result.unreachable_author_of is not None and self._catalogue is not None:
                        scope = Scope(uow=uow, catalogue=self._catalogue, now=now)
                        await tell_team_author_unreachable(scope, result.unreachable_author_of)
                        if scope.notifications:
                            self.wake()
                else:
                    await uow.outbox.mark_sent(result.row_id, message_id=result.message_id, now=now)
            await uow.commit()

    async def _another_bot(self, uow: UnitOfWork, row: OutboxMessage, now: datetime) -> bool:
        """A person who blocked one bot of the deployment (or deleted its chat) but has
        started another: forget this one for them, and queue the message on the other
        (the one they used last of those left). False: no other bot reaches them."""
        route = await uow.people.forget_route(family_of(row.channel), row.chat_id, row.channel)
        if route is None:
            return False
        message = OutMessage.from_json(row.payload)
        if message.edit_message_id is not None:  # that message is in the other bot's chat
            message = OutMessage(text=message.text, buttons=message.buttons, file=message.file)
        await uow.outbox.add(
            channel=route,
            chat_id=row.chat_id,
            payload=message.to_json(),
            priority=row.priority,
            now=now,
            person_id=row.person_id,
            idea_id=row.idea_id,
            purpose=row.purpose,
        )
        log.info("outbox %s: the person is reached through another bot now", row.id)
        self.wake()
        return True


class _SentRecords:
    """Records sent messages, many in one transaction (a group commit).

    Each sender waits until its own record has committed before it sends the next
    message of the chat, so what a crash can repeat is still at most one message a
    chat. Records that arrive while a transaction waits for the database, or runs, go
    together in the next one: one write transaction for many replies instead of one
    each, when every update's reply is sent at about the same time.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._waiting: list[tuple[list[tuple[int, str | None]], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0

    async def record(self, sent: list[tuple[int, str | None]]) -> None:
        """Mark these (row id, message id) sent; returns once that has committed."""
        done = asyncio.get_running_loop().create_future()
        # A sender cancelled meanwhile (a stop) leaves the outcome to nobody: take it here.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((sent, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-sent-records")
        await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            taken: list[tuple[list[tuple[int, str | None]], asyncio.Future[None]]] = []
            failure: Exception | None = None
            try:
                async with UnitOfWork(self._sessionmaker) as uow:
                    # Taken once the database is ours: all that came while waiting for it.
                    taken, self._waiting = self._waiting, []
                    rows = [row for sent, _ in taken for row in sent]
                    await uow.outbox.mark_sent_many(rows, now=self._clock())
                    await uow.commit()
                self.transactions += 1
            except Exception as exc:
                failure = exc
                if not taken:  # the database could not even be reached
                    taken, self._waiting = self._waiting, []
            for _, done in taken:
                if done.done():
                    continue
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(failure)
