"""The outbox: messages queued in the update's transaction, sent and leased later."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from storage.models import OutboxMessage, OutboxStatus
from storage.repositories.base import Repository, new_instance

# Statements run for every update, built once: values go in as parameters, so
# SQLAlchemy compiles each once and looks it up by a cache key that does not depend
# on the values (a statement with ``.values(...)`` is keyed on them every time).
_OUTBOX: Final[Table] = OutboxMessage.__table__  # type: ignore[assignment]
_ADD_OUTBOX: Final = insert(_OUTBOX).returning(_OUTBOX.c.id)
# PostgreSQL's claim locks (claim_due): the whole outbox's, alone or shared with a set of
# channels' own.
_CLAIM_ALL_LOCK: Final = text("SELECT pg_advisory_xact_lock(hashtextextended('outbox-claim', 0))")
_CLAIM_SOME_LOCK: Final = text(
    "SELECT pg_advisory_xact_lock_shared(hashtextextended('outbox-claim', 0)),"
    " pg_advisory_xact_lock(hashtextextended(:scope, 0))"
)
# Many rows marked sent in one executemany (the ORM's bulk update by primary key cost
# several times as much per row).
_MARK_SENT: Final = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT.value,
        message_id=bindparam("sent_message_id"),
        sent_at=bindparam("sent_now"),
        claimed_by=None,
        claimed_until=None,
    )
)


class OutboxRepository(Repository):
    async def add(
        self,
        *,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        priority: int,
        now: datetime,
        person_id: int | None = None,
        idea_id: int | None = None,
        purpose: str | None = None,
    ) -> int:
        row = await self.add_row(
            channel=channel,
            chat_id=chat_id,
            payload=payload,
            priority=priority,
            now=now,
            person_id=person_id,
            idea_id=idea_id,
            purpose=purpose,
        )
        return row.id

    async def add_row(
        self,
        *,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        priority: int,
        now: datetime,
        person_id: int | None = None,
        idea_id: int | None = None,
        purpose: str | None = None,
        claimed_by: str | None = None,
        claimed_until: datetime | None = None,
    ) -> OutboxMessage:
        """Queue a message; ``claimed_by`` keeps it for that instance until ``claimed_until``.

        The row is inserted with one statement and handed back detached from the session
        (what it holds is what was inserted): the ORM's flush machinery cost more than
        the insert itself on every update.
        """
        values: dict[str, Any] = {
            "channel": channel,
            "chat_id": chat_id,
            "payload": payload,
            "priority": priority,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "person_id": person_id,
            "idea_id": idea_id,
            "purpose": purpose,
            "claimed_by": claimed_by,
            "claimed_until": claimed_until,
        }
        inserted = await self._write(_ADD_OUTBOX, values)
        # Made as a query's loading makes an object (no __init__, nor the change tracking of
        # each attribute set: 11 µs of the 12 a reply's row cost).
        row = new_instance(OutboxMessage)
        row.__dict__.update(values, id=inserted.returned)
        return row

    async def claim_due(
        self,
        now: datetime,
        *,
        instance: str,
        lease: timedelta,
        limit: int,
        per_chat: int | None = None,
        channels: Sequence[str] | None = None,
        other_than: Sequence[str] = (),
    ) -> list[OutboxMessage]:
        """Take the lease on up to ``limit`` rows due at ``now``, most urgent first.

        ``channels``: only rows of these channels; ``other_than``: none of those (one
        drain loop a bot of the deployment, so that one bot's backlog never holds up
        another's messages: bot.runtime.sender).

        A row is due when its time has come and nobody holds a live lease on it. It
        is left alone while an earlier row of the same chat is still outstanding
        (leased elsewhere or waiting to retry), so one chat's messages keep their
        order whichever instance sends them. On PostgreSQL the candidates are locked
        with ``FOR UPDATE SKIP LOCKED``: instances draining at once never take the
        same row; on SQLite the writer lock does the same.

        ``per_chat`` caps the rows of one chat in a claim (the rest are let go at
        once), so a chat's share fits in the lease at its send rate; the chat's later
        rows wait behind those claimed, as above.
        """
        postgres = self.session.get_bind().dialect.name == "postgresql"
        if postgres:
            # One claim at a time across instances: a claim running beside another
            # would not see the other's uncommitted leases, and could take a chat's
            # later rows while the other takes its earlier ones. That can only happen
            # between claims over the same channels: the drain loops of several bots
            # (channels= / other_than=) cover channels apart, so each set has its lock
            # and holds the whole outbox's in shared mode, which a claim over every
            # channel (one loop: one bot, or an instance not yet told of the others)
            # takes alone.
            if channels is None and not other_than:
                await self.session.execute(_CLAIM_ALL_LOCK)
            else:
                scope = ",".join(channels) if channels is not None else "!" + ",".join(other_than)
                await self.session.execute(_CLAIM_SOME_LOCK, {"scope": f"outbox-claim:{scope}"})
        row, earlier = OutboxMessage, aliased(OutboxMessage)
        of_channels: ColumnElement[bool]
        if channels is None:
            of_channels = true()
        elif postgres:
            # = ANY(array), not IN: PostgreSQL reads an IN of one value as
            # ``channel = '...'`` and carries it into the NOT EXISTS below (an earlier row
            # of the same channel), which on a fresh, unanalysed outbox became a nested
            # loop reading every pending row of the channel for each candidate: seconds a
            # claim, under the claim's lock (docs/BENCHMARKS.md, several bot tokens).
            of_channels = row.channel == any_(literal(list(channels), ARRAY(String)))
        else:
            of_channels = row.channel.in_(channels)
        free = or_(row.claimed_until.is_(None), row.claimed_until < now)
        blocked = (
            select(earlier.id)
            .where(
                earlier.channel == row.channel,
                earlier.chat_id == row.chat_id,
                earlier.status == OutboxStatus.PENDING.value,
                earlier.id < row.id,
                or_(earlier.claimed_until >= now, earlier.next_attempt_at > now),
            )
            .exists()
        )
        candidates = (
            select(row.id)
            .where(row.status == OutboxStatus.PENDING.value, row.next_attempt_at <= now, free)
            .where(~blocked)
            .where(of_channels)
            .where(row.channel.not_in(other_than) if other_than else true())
            .order_by(row.priority, row.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(candidates)).scalars())
        if not ids:
            return []
        claim = (
            update(row)
            .where(row.id.in_(ids), row.status == OutboxStatus.PENDING.value, free)
            .values(claimed_by=instance, claimed_until=now + lease)
            .returning(row)
            .execution_options(synchronize_session=False)
        )
        rows = sorted((await self.session.execute(claim)).scalars(), key=lambda r: r.id)
        if per_chat is not None:
            taken: Tally[tuple[str, str]] = Tally()
            kept: list[OutboxMessage] = []
            surplus: list[int] = []
            for message in rows:
                chat = (message.channel, message.chat_id)
                taken[chat] += 1
                if taken[chat] <= per_chat:
                    kept.append(message)
                else:
                    surplus.append(message.id)
            await self.release(surplus)
            rows = kept
        return sorted(rows, key=lambda r: (r.priority, r.id))

    async def release(self, ids: Sequence[int]) -> None:
        """Give up the leases on rows that will not be sent now after all."""
        if ids:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(claimed_by=None, claimed_until=None)
            )

    async def release_claims(self, instance: str, *, created_before: datetime) -> int:
        """Give up the leases ``instance`` took on rows created before ``created_before``
        (the instance restarted then: nothing it held before is in flight)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.claimed_by == instance,
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.created_at < created_before,
            )
            .values(claimed_by=None, claimed_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count_pending(self) -> int:
        """Messages not yet sent nor given up on."""
        query = select(func.count()).select_from(OutboxMessage)
        query = query.where(OutboxMessage.status == OutboxStatus.PENDING.value)
        return int((await self.session.execute(query)).scalar_one())

    async def next_due_at(self) -> datetime | None:
        query = select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING.value
        )
        value: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def mark_sent(self, outbox_id: int, *, message_id: str | None, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                status=OutboxStatus.SENT.value,
                message_id=message_id,
                sent_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def mark_sent_many(
        self, sent: Sequence[tuple[int, str | None]], *, now: datetime
    ) -> None:
        """:meth:`mark_sent` for many (row id, message id) pairs in one statement."""
        if not sent:
            return
        await self._write_many(
            _MARK_SENT,
            [
                {"row_id": outbox_id, "sent_message_id": message_id, "sent_now": now}
                for outbox_id, message_id in sent
            ],
        )

    async def mark_retry(self, outbox_id: int, *, at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=at,
                last_error=error[:200],
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def mark_failed(self, outbox_id: int, *, error: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                status=OutboxStatus.FAILED.value,
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:200],
                sent_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def sent_cards(self, idea_id: int, prefixes: Sequence[str]) -> list[OutboxMessage]:
        """Cards of an idea that reached a chat, whose purpose starts with one of ``prefixes``."""
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.idea_id == idea_id,
                OutboxMessage.status == OutboxStatus.SENT.value,
                OutboxMessage.message_id.is_not(None),
                or_(*(OutboxMessage.purpose.startswith(p) for p in prefixes)),
            )
            .order_by(OutboxMessage.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def sent_message_id(self, outbox_id: int) -> str | None:
        query = select(OutboxMessage.message_id).where(OutboxMessage.id == outbox_id)
        return (await self.session.execute(query)).scalar_one_or_none()
